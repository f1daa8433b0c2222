namespace CoapEnroll.Dtls;

/// <summary>The key exchange a cipher suite implies.</summary>
internal enum KeyExchangeKind
{
    /// <summary>Ephemeral ECDH signed with ECDSA (RFC 8422 §2.1).</summary>
    EcdheEcdsa,
    /// <summary>Plain pre-shared key (RFC 4279 §2).</summary>
    Psk,
}
