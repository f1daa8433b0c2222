namespace CoapEnroll.Ca;

/// <summary>A revoked certificate as a CRL lists it (RFC 5280 section 5.1.2.6).</summary>
/// <param name="SerialNumber">Serial number, upper-case hex of the INTEGER's content octets.</param>
/// <param name="RevokedAt">The revocation date (UTC).</param>
/// <param name="Reason">The RFC 5280 CRLReason code (section 5.3.1); 0 (unspecified) for a certificate revoked without one.</param>
public sealed record RevokedCertificate(string SerialNumber, DateTimeOffset RevokedAt, int Reason);
