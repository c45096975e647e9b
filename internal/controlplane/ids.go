package controlplane

import "crypto/rand"

// idAlphabet is what the cloud's resource IDs are made of (base32hex in
// lower case).
const idAlphabet = "0123456789abcdefghijklmnopqrstuv"

// NewID makes an ID the shape of the cloud's: 20 characters, a
// three-character prefix naming the service (d5d: API Gateway) and 17
// random characters (85 bits).
func NewID(prefix string) string {
	var r [17]byte
	rand.Read(r[:]) // never fails (crypto/rand)
	b := make([]byte, 0, 20)
	b = append(b, prefix...)
	for _, c := range r[:20-len(prefix)] {
		b = append(b, idAlphabet[c&31]) // 256 is a multiple of 32: no bias
	}
	return string(b)
}
