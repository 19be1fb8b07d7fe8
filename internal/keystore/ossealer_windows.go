package keystore

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// dpapi seals with the Windows Data Protection API for the current user.
type dpapi struct{}

// OSSealer returns the OS facility that seals file secrets: DPAPI.
func OSSealer() (Sealer, error) { return dpapi{}, nil }

func (dpapi) Name() string { return "dpapi" }

func blob(b []byte) *windows.DataBlob {
	if len(b) == 0 {
		return &windows.DataBlob{}
	}
	return &windows.DataBlob{Size: uint32(len(b)), Data: &b[0]}
}

func (dpapi) Seal(name string, plain []byte) ([]byte, error) {
	var out windows.DataBlob
	entropy := []byte("sealprint/" + name)
	if err := windows.CryptProtectData(blob(plain), nil, blob(entropy), 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return nil, err
	}
	defer windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	return append([]byte(nil), unsafe.Slice(out.Data, out.Size)...), nil
}

func (dpapi) Open(name string, sealed []byte) ([]byte, error) {
	var out windows.DataBlob
	entropy := []byte("sealprint/" + name)
	if err := windows.CryptUnprotectData(blob(sealed), nil, blob(entropy), 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return nil, err
	}
	defer windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	return append([]byte(nil), unsafe.Slice(out.Data, out.Size)...), nil
}
