package cli

import (
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// armorBody decodes one armored PGP MESSAGE block.
func armorBody(r io.Reader) (io.Reader, error) {
	block, err := armor.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("armored input: %w", err)
	}
	if block.Type != "PGP MESSAGE" {
		return nil, fmt.Errorf("armored input is a %q, not a message", block.Type)
	}
	return block.Body, nil
}
