package uploader

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sealprint/sealprint/relayapi"
)

// PostReceipt tells the relay that the recipient decrypted the drop.
// proof is envelope.ReceiptProof of the session key and the ciphertext's
// SHA-256: the sender, who knows the session key, can check it; the relay
// only stores it.
// token is the download's one-time receipt token (Downloaded.ReceiptToken).
func (c *Client) PostReceipt(ctx context.Context, dropID, token, proof string) error {
	return c.PostSignedReceipt(ctx, dropID, relayapi.ReceiptRequest{Proof: proof, Token: token})
}

// PostSignedReceipt posts a receipt that may carry the recipient's
// signature of the receipt statement (relayapi.ReceiptStatement).
func (c *Client) PostSignedReceipt(ctx context.Context, dropID string, req relayapi.ReceiptRequest) error {
	if err := checkID(dropID); err != nil {
		return err
	}
	if len(req.Proof) != 64 {
		return fmt.Errorf("receipt for drop %s: malformed proof", dropID)
	}
	if _, err := c.doJSON(ctx, http.MethodPost, "/api/v1/drops/"+dropID+"/receipt", false,
		req, nil, nil); err != nil {
		return fmt.Errorf("receipt for drop %s: %w", dropID, err)
	}
	return nil
}
