package auth

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math/big"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/messages"
)

// gokrb5 verifies a client's AP-REQ but cannot answer one: its SPNEGO handler completes the
// context without the AP-REP (RFC 4120 §3.2.4) that a client requiring mutual authentication
// (sparkmagic, requests-kerberos by default) waits for, and its KRB5 token refuses to marshal
// one. This file builds that message from gokrb5's own types and encryption.

// gssMutualFlag is GSS_C_MUTUAL_FLAG in the flags of the authenticator's checksum (RFC 4121
// §4.1.1).
const gssMutualFlag = 2

// mutualRequested reports whether the client asked for mutual authentication.
func mutualRequested(req *messages.APReq) bool {
	ck := req.Authenticator.Cksum
	if ck.CksumType != chksumtype.GSSAPI || len(ck.Checksum) < 24 {
		return false
	}
	return binary.LittleEndian.Uint32(ck.Checksum[20:24])&gssMutualFlag != 0
}

// encAPRepPart is RFC 4120's EncAPRepPart without the optional subkey: the context keeps the
// client's subkey, if any.
type encAPRepPart struct {
	CTime          time.Time `asn1:"generalized,explicit,tag:0"`
	Cusec          int       `asn1:"explicit,tag:1"`
	SequenceNumber int64     `asn1:"explicit,tag:3"`
}

// apRep is the KRB5 GSS token (RFC 4121 §4.1, token id 02 00) of the AP-REP that answers the
// verified req: the client's own timestamp, encrypted in the ticket's session key, which only
// the holder of the service key could read.
func apRep(req *messages.APReq) ([]byte, error) {
	seq, err := rand.Int(rand.Reader, big.NewInt(1<<30))
	if err != nil {
		return nil, err
	}
	part, err := asn1.Marshal(encAPRepPart{CTime: req.Authenticator.CTime.UTC(), Cusec: req.Authenticator.Cusec, SequenceNumber: seq.Int64()})
	if err != nil {
		return nil, fmt.Errorf("encode EncAPRepPart: %w", err)
	}
	encrypted, err := crypto.GetEncryptedData(asn1tools.AddASNAppTag(part, asnAppTag.EncAPRepPart), req.Ticket.DecryptedEncPart.Key, keyusage.AP_REP_ENCPART, 0)
	if err != nil {
		return nil, fmt.Errorf("encrypt EncAPRepPart: %w", err)
	}
	msg, err := asn1.Marshal(messages.APRep{PVNO: 5, MsgType: msgtype.KRB_AP_REP, EncPart: encrypted})
	if err != nil {
		return nil, fmt.Errorf("encode AP-REP: %w", err)
	}
	oid, _ := asn1.Marshal(gssapi.OIDKRB5.OID())
	body := append(append(oid, 0x02, 0x00), asn1tools.AddASNAppTag(msg, asnAppTag.APREP)...)
	return asn1tools.AddASNAppTag(body, 0), nil
}
