using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>A certification request row of the store.</summary>
public sealed record StoredRequest
{
    /// <summary>Store-assigned id (0 before it is stored).</summary>
    public long Id { get; init; }

    /// <summary>The caller's idempotency key, unique when present; null on requests refused on arrival (a repeat is judged afresh).</summary>
    public string? RequestKey { get; init; }

    /// <summary>The request as received: PKCS#10 DER (RFC 2986), or for CMP the DER of the CRMF CertRequest (RFC 4211).</summary>
    public required byte[] CsrDer { get; init; }

    /// <summary>SubjectPublicKeyInfo DER of a server-generated key to certify instead of the CSR's key (RFC 7030 section 4.4).</summary>
    public byte[]? OverridePublicKey { get; init; }

    /// <summary>Who asked.</summary>
    public required string Requester { get; init; }

    /// <summary>
    /// The identity the requester acts for (<see cref="IssuanceRequest.Identity"/>), given to the certificate issued for the request.
    /// Written as <see cref="Requester"/> when null; always set when read from the store.
    /// </summary>
    public string? Identity { get; init; }

    /// <summary>
    /// The registrar (RFC 7030 §3.7: an RA with id-kp-cmcRA) that authenticated the device and submitted the request for it, by its
    /// certificate's subject and SHA-256 thumbprint; null when the device asked itself. <see cref="Requester"/> is then the
    /// registrar as well, and <see cref="Identity"/> the device.
    /// </summary>
    public string? Registrar { get; init; }

    /// <summary>Through which protocol ("est-coaps", "cmp", ...).</summary>
    public required string Protocol { get; init; }

    /// <summary>Profile name.</summary>
    public required string Profile { get; init; }

    /// <summary>State.</summary>
    public RequestStatus Status { get; init; }

    /// <summary>Why it was rejected (<see cref="RejectionReason.None"/> otherwise).</summary>
    public RejectionReason RejectionReason { get; init; }

    /// <summary>Free-text detail of the rejection.</summary>
    public string? ReasonDetail { get; init; }

    /// <summary>Serial of the certificate being replaced (re-enrollment), if any.</summary>
    public string? ReplacesSerialNumber { get; init; }

    /// <summary>Serial of the issued certificate, once issued.</summary>
    public string? IssuedSerialNumber { get; init; }

    /// <summary>Creation time.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Last state change.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>
    /// The subject the request asks for, from a PKCS#10 request or a CMP CertRequest alike, for an operator to see what is approved;
    /// null when the stored bytes cannot be read as either. Not a validation: the CA checks the request again when it issues.
    /// </summary>
    public X500DistinguishedName? ReadSubject()
    {
        try
        {
            return StoredCrmfRequest.IsCrmf(CsrDer)
                ? StoredCrmfRequest.Decode(CsrDer).Subject
                : CertificateRequest.LoadSigningRequest(CsrDer, HashAlgorithmName.SHA256, out _, CertificateRequestLoadOptions.SkipSignatureValidation).SubjectName;
        }
        catch (Exception ex) when (ex is CryptographicException or CsrRejectedException)
        {
            return null;
        }
    }
}
