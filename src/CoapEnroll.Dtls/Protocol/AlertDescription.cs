namespace CoapEnroll.Dtls;

/// <summary>
/// Alert descriptions (RFC 5246 §7.2, plus <see cref="UnsupportedExtension"/> from RFC 5246 §7.2.2 and
/// <see cref="UnknownPskIdentity"/> from RFC 4279 §2). Values that TLS 1.2 reserves (export_restriction,
/// decryption_failed, no_certificate) are listed so they can be recognised, never sent.
/// </summary>
public enum AlertDescription : byte
{
    CloseNotify = 0,
    UnexpectedMessage = 10,
    BadRecordMac = 20,
    DecryptionFailedReserved = 21,
    RecordOverflow = 22,
    DecompressionFailure = 30,
    HandshakeFailure = 40,
    NoCertificateReserved = 41,
    BadCertificate = 42,
    UnsupportedCertificate = 43,
    CertificateRevoked = 44,
    CertificateExpired = 45,
    CertificateUnknown = 46,
    IllegalParameter = 47,
    UnknownCa = 48,
    AccessDenied = 49,
    DecodeError = 50,
    DecryptError = 51,
    ExportRestrictionReserved = 60,
    ProtocolVersion = 70,
    InsufficientSecurity = 71,
    InternalError = 80,
    UserCanceled = 90,
    NoRenegotiation = 100,
    UnsupportedExtension = 110,
    UnknownPskIdentity = 115,
}
