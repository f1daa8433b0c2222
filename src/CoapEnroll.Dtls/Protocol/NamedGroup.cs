namespace CoapEnroll.Dtls;

/// <summary>Named groups (RFC 8422 §5.1.1). Only <see cref="Secp256r1"/> is negotiated.</summary>
internal enum NamedGroup : ushort
{
    Secp256r1 = 23,
    Secp384r1 = 24,
    Secp521r1 = 25,
    X25519 = 29,
}
