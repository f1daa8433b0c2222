using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>A certificate row of the store.</summary>
public sealed record StoredCertificate
{
    /// <summary>Serial number as upper-case hex of the INTEGER's content octets (as <see cref="X509Certificate2.SerialNumber"/>).</summary>
    public required string SerialNumber { get; init; }

    /// <summary>Subject DN (RFC 4514 form as .NET prints it).</summary>
    public required string Subject { get; init; }

    /// <summary>Issuer DN.</summary>
    public required string Issuer { get; init; }

    /// <summary>notBefore (UTC).</summary>
    public required DateTimeOffset NotBefore { get; init; }

    /// <summary>notAfter (UTC).</summary>
    public required DateTimeOffset NotAfter { get; init; }

    /// <summary>The certificate DER.</summary>
    public required byte[] Der { get; init; }

    /// <summary>SHA-256 of the SubjectPublicKeyInfo DER, upper-case hex.</summary>
    public required string PublicKeySha256 { get; init; }

    /// <summary>The profile it was issued under.</summary>
    public required string Profile { get; init; }

    /// <summary>Who requested it.</summary>
    public required string Requester { get; init; }

    /// <summary>
    /// The identity the certificate stands for (<see cref="IssuanceRequest.Identity"/>): the names it holds are held by this identity.
    /// Written as <see cref="Requester"/> when null; always set when read from the store.
    /// </summary>
    public string? Identity { get; init; }

    /// <summary>Life-cycle state.</summary>
    public CertificateStatus Status { get; init; } = CertificateStatus.Active;

    /// <summary>Serial of the certificate this one replaced by re-enrollment, if any.</summary>
    public string? ReplacesSerialNumber { get; init; }

    /// <summary>The request it was issued for (0 before it is stored).</summary>
    public long RequestId { get; init; }

    /// <summary>When the row was written.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The RFC 5280 CRLReason code it was revoked with (<see cref="RevocationReasons"/>); null unless <see cref="Status"/> is revoked.</summary>
    public int? RevocationReason { get; init; }

    /// <summary>When it was revoked (UTC); null unless <see cref="Status"/> is revoked.</summary>
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>Builds a row from a certificate's DER, reading subject, issuer, validity, serial and key hash from it.</summary>
    public static StoredCertificate FromCertificate(X509Certificate2 certificate, string profile, string requester, string? replacesSerialNumber) => new()
    {
        SerialNumber = certificate.SerialNumber,
        Subject = certificate.Subject,
        Issuer = certificate.Issuer,
        NotBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero),
        NotAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero),
        Der = certificate.RawData,
        PublicKeySha256 = CertificateFactory.PublicKeyHash(certificate.PublicKey),
        Profile = profile,
        Requester = requester,
        ReplacesSerialNumber = replacesSerialNumber,
    };

    /// <summary>Builds a row from a certificate the CA signed, with the fields it was encoded with (nothing is decoded).</summary>
    public static StoredCertificate FromIssued(IssuedCertificate certificate, string profile, string requester, string? replacesSerialNumber)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return new()
        {
            SerialNumber = certificate.SerialNumber,
            Subject = certificate.Subject,
            Issuer = certificate.Issuer,
            NotBefore = certificate.NotBefore,
            NotAfter = certificate.NotAfter,
            Der = certificate.Der,
            PublicKeySha256 = certificate.PublicKeySha256,
            Profile = profile,
            Requester = requester,
            ReplacesSerialNumber = replacesSerialNumber,
        };
    }

    /// <summary>Loads the DER as a certificate.</summary>
    public X509Certificate2 ToCertificate() => X509CertificateLoader.LoadCertificate(Der);
}
