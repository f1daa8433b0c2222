using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>
/// A request to certify a public key, independent of how it was encoded: the certificate template (subject, public key, requested
/// extensions such as subjectAltName), the proof of possession, and the encoding as received (stored with the request and the
/// input of its idempotency key). PKCS#10 (RFC 2986) decodes through <see cref="DecodePkcs10"/>; a CRMF CertReqMsg (RFC 4211)
/// fills the same template with its own <see cref="Ca.ProofOfPossession"/>.
/// </summary>
public sealed class CertificationRequest
{
    private const string SubjectAltNameOid = "2.5.29.17";

    /// <summary>A request of any format. A PKCS#10 request has a public key and a proof of possession.</summary>
    /// <exception cref="ArgumentException">A PKCS#10 request without a public key or proof of possession.</exception>
    public CertificationRequest(CertificationRequestFormat format, ReadOnlyMemory<byte> encoded, X500DistinguishedName subject, PublicKey? publicKey,
        IReadOnlyList<X509Extension> requestedExtensions, IReadOnlyList<AsnEncodedData> attributes, ProofOfPossession? proofOfPossession)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(requestedExtensions);
        ArgumentNullException.ThrowIfNull(attributes);
        if (format == CertificationRequestFormat.Pkcs10 && (publicKey is null || proofOfPossession is null))
        {
            throw new ArgumentException("a PKCS#10 request has a public key and a proof of possession", nameof(publicKey));
        }

        if (publicKey is null && proofOfPossession is not null)
        {
            throw new ArgumentException("a proof of possession needs a public key", nameof(proofOfPossession));
        }

        Format = format;
        Encoded = encoded;
        Subject = subject;
        PublicKey = publicKey;
        RequestedExtensions = requestedExtensions;
        Attributes = attributes;
        ProofOfPossession = proofOfPossession;
    }

    /// <summary>
    /// A request without other attributes, as CRMF makes it (<see cref="CertificationRequestFormat.Crmf"/>: <paramref name="encoded"/>
    /// is the DER of the CertRequest). <paramref name="publicKey"/> and <paramref name="proofOfPossession"/> are null for central key
    /// generation (a template without a key); a subject the template lacks is an empty name.
    /// </summary>
    /// <exception cref="ArgumentException">A PKCS#10 request without a public key or proof of possession, or a proof without a key.</exception>
    public CertificationRequest(CertificationRequestFormat format, ReadOnlyMemory<byte> encoded, X500DistinguishedName subject, PublicKey? publicKey,
        IReadOnlyList<X509Extension> requestedExtensions, ProofOfPossession? proofOfPossession)
        : this(format, encoded, subject, publicKey, requestedExtensions, [], proofOfPossession)
    {
    }

    /// <summary>How the request was encoded.</summary>
    public CertificationRequestFormat Format { get; }

    /// <summary>The request as received; stored with it and hashed into its request key.</summary>
    public ReadOnlyMemory<byte> Encoded { get; }

    /// <summary>The requested subject.</summary>
    public X500DistinguishedName Subject { get; }

    /// <summary>
    /// The public key to certify (for server-side key generation, the key the server replaces); null for a CRMF template without
    /// one (central key generation).
    /// </summary>
    public PublicKey? PublicKey { get; }

    /// <summary>The requested certificate extensions (PKCS#9 extensionRequest, or CRMF's CertTemplate extensions).</summary>
    public IReadOnlyList<X509Extension> RequestedExtensions { get; }

    /// <summary>The other request attributes (PKCS#10 attributes other than extensionRequest: challengePassword, SMIMECapabilities, …).</summary>
    public IReadOnlyList<AsnEncodedData> Attributes { get; }

    /// <summary>The proof that the requester holds the private key of <see cref="PublicKey"/>; null when there is no key.</summary>
    public ProofOfPossession? ProofOfPossession { get; }

    /// <summary>The DER of the first requested subjectAltName extension's value, or null.</summary>
    public byte[]? SubjectAltName => RequestedExtensions.FirstOrDefault(e => e.Oid?.Value == SubjectAltNameOid)?.RawData;

    /// <summary>
    /// Checks the rules on the template that hold whatever the profile, and so may be checked before anything reads names from it:
    /// the subject's strings are UTF8String or PrintableString (or what their attribute type prescribes) with valid contents and
    /// no control or bidirectional formatting characters, no attribute is repeated but OU and DC, at most 16 single-valued RDNs,
    /// each requested extension at most once, and no critical extension the CA does not issue. The CA applies them again, with
    /// the profile's own rules, before it issues.
    /// </summary>
    /// <returns>False with the reason and a text safe to show to the requester when a rule is broken.</returns>
    public bool TryCheckTemplate(out RejectionReason reason, out string? detail)
    {
        try
        {
            TemplateRules.CheckSubject(Subject, profile: null);
            TemplateRules.CheckRequestedExtensions(RequestedExtensions);
            CsrValidator.CheckSubjectAltNameForms(RequestedExtensions);
        }
        catch (CsrRejectedException ex)
        {
            reason = ex.Reason;
            detail = ex.Message;
            return false;
        }

        reason = RejectionReason.None;
        detail = null;
        return true;
    }

    /// <summary>
    /// Decodes a PKCS#10 request without checking its signature: the signature becomes the <see cref="ProofOfPossession"/>,
    /// checked on demand, so a malformed request and a bad signature get different answers and the DER is decoded only here.
    /// </summary>
    /// <param name="der">The request; the returned request keeps a reference to it.</param>
    /// <param name="request">The decoded request, when the status is <see cref="CertificationRequestDecodeStatus.Decoded"/>.</param>
    /// <param name="detail">The decoder's message when the status is <see cref="CertificationRequestDecodeStatus.Malformed"/>.</param>
    public static CertificationRequestDecodeStatus DecodePkcs10(ReadOnlyMemory<byte> der, out CertificationRequest? request, out string? detail)
    {
        request = null;
        detail = null;
        CertificateRequest parsed;
        try
        {
            parsed = CertificateRequest.LoadSigningRequest(der.Span, HashAlgorithmName.SHA256, out int consumed,
                CertificateRequestLoadOptions.SkipSignatureValidation | CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
            if (consumed != der.Length)
            {
                return CertificationRequestDecodeStatus.TrailingData;
            }
        }
        catch (CryptographicException ex)
        {
            detail = ex.Message;
            return CertificationRequestDecodeStatus.Malformed;
        }

        Pkcs10SignatureProof? proof = Pkcs10SignatureProof.TryCreate(der, parsed.PublicKey, out detail);
        if (proof is null)
        {
            return CertificationRequestDecodeStatus.Malformed;
        }

        request = new CertificationRequest(CertificationRequestFormat.Pkcs10, der, parsed.SubjectName, parsed.PublicKey,
            [.. parsed.CertificateExtensions], [.. parsed.OtherRequestAttributes], proof);
        return CertificationRequestDecodeStatus.Decoded;
    }
}
