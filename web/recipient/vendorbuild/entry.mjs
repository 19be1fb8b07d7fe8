// The part of asn1js the recipient page's PDF signature check uses
// (static/pdfsig.js): the BER/DER decoder and the block classes it
// returns. scripts/update-asn1js bundles this into one ES module.
export { fromBER, Constructed, Sequence, Set, Integer, ObjectIdentifier, OctetString, BitString, Null, GeneralizedTime, UTCTime, Boolean, Utf8String, PrintableString, IA5String, TeletexString, BmpString, UniversalString, VisibleString, NumericString } from "asn1js";
