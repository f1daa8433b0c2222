using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CoapEnroll.Ca;

/// <summary>A request to certify a key, as the enrollment service hands it to <see cref="CertificateAuthority.IssueAsync"/>.</summary>
public sealed class IssuanceRequest
{
    /// <summary>Largest accepted PKCS#10 DER; an RSA-8192 CSR with a few SANs is well below it.</summary>
    public const int MaxCsrLength = 16 * 1024;

    /// <summary>Smallest plausible PKCS#10 DER (a P-256 CSR with a one-letter CN is about 120 octets).</summary>
    public const int MinCsrLength = 64;

    /// <summary>Longest requester identity.</summary>
    public const int MaxRequesterLength = 512;

    /// <summary>Longest protocol name.</summary>
    public const int MaxProtocolLength = 32;

    /// <summary>Longest request key.</summary>
    public const int MaxRequestKeyLength = 128;

    /// <summary>Longest replaced serial number in hex (20 octets, RFC 5280 section 4.1.2.2).</summary>
    public const int MaxSerialNumberHexLength = 40;

    /// <summary>The request as received, stored with it: the PKCS#10 CertificationRequest DER (RFC 2986).</summary>
    public required ReadOnlyMemory<byte> CsrDer { get; init; }

    /// <summary>
    /// <see cref="CsrDer"/> already decoded by the caller (<see cref="CertificationRequest.DecodePkcs10"/>), so that it is decoded
    /// and its proof of possession verified once per request. Null: the CA decodes <see cref="CsrDer"/> itself.
    /// </summary>
    public CertificationRequest? Request { get; init; }

    /// <summary>Who asks: e.g. the authenticated client certificate's subject and thumbprint, or "anonymous".</summary>
    public required string Requester { get; init; }

    /// <summary>Which protocol: "est-coaps", "cmp", "cli", ...</summary>
    public required string Protocol { get; init; }

    /// <summary>Profile name (EST label); null or empty selects the default profile.</summary>
    public string? ProfileName { get; init; }

    /// <summary>
    /// Server-side key generation (RFC 7030 section 4.4, RFC 9148 section 5.8): the key to certify instead of the CSR's key; the CSR
    /// still proves possession of its own key and supplies the subject and SANs.
    /// </summary>
    public PublicKey? OverridePublicKey { get; init; }

    /// <summary>
    /// Idempotency key: a repeated request with the same key (retransmission, retry after 5.03) returns the stored outcome instead of
    /// issuing again. It must come with the same CSR, requester and override key; otherwise the request is rejected with
    /// <see cref="RejectionReason.RequestKeyConflict"/>. See <see cref="ComputeRequestKey"/>.
    /// </summary>
    public string? RequestKey { get; init; }

    /// <summary>Re-enrollment (RFC 7030 section 4.2.2): serial number (hex) of the certificate being replaced, marked superseded on issuance.</summary>
    public string? ReplacesSerialNumber { get; init; }

    /// <summary>
    /// The identity the requester acts for, which holds the names of the certificate issued (a subject held by an active certificate
    /// of another identity is refused, <see cref="RejectionReason.NameHeldByAnotherRequester"/>). The enrollment service passes the
    /// device's identity, the same for its manufacturer certificate and every certificate this CA issued it. Null: the requester.
    /// </summary>
    public string? Identity { get; init; }

    /// <summary>
    /// The registrar (RFC 7030 §3.7) that authenticated the device and submits the request for it, or null when the device asks
    /// itself. Recorded with the request and in the audit log ("via registrar X"); <see cref="Identity"/> is then the device's.
    /// </summary>
    public string? Registrar { get; init; }

    /// <summary>
    /// Non-null: the request waits for an operator's approval, for this reason (audited), even where the profile does not ask for
    /// approval; e.g. a name not bound to the requester under <see cref="NamePolicy.AnyNameHeldForApproval"/>.
    /// </summary>
    public string? ApprovalReason { get; init; }

    /// <summary>A request key: SHA-256 over the requester (UTF-8, length-prefixed) and the CSR DER, as lower-case hex.</summary>
    public static string ComputeRequestKey(ReadOnlySpan<byte> csrDer, string requester)
    {
        ArgumentNullException.ThrowIfNull(requester);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] who = Encoding.UTF8.GetBytes(requester);
        Span<byte> length = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, who.Length);
        hash.AppendData(length);
        hash.AppendData(who);
        hash.AppendData(csrDer);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
