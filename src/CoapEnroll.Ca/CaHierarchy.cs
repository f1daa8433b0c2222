using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>
/// The loaded CA hierarchy: trust anchor, issuing CA with its key, intermediates and trusted manufacturer CAs. Where it comes from
/// (the demo PKI created on first start, or an operator's files) is the host's business; the CA only uses it.
/// </summary>
public sealed class CaHierarchy
{
    /// <param name="layout">Where the files are in the data directory.</param>
    /// <param name="trustAnchor">The root CA certificate (no private key needed).</param>
    /// <param name="issuingCa">The issuing CA certificate with its private key.</param>
    /// <param name="intermediates">Certificates between <paramref name="issuingCa"/> and <paramref name="trustAnchor"/>.</param>
    /// <param name="trustedManufacturerCas">Manufacturer CAs whose device certificates are accepted for first enrollment.</param>
    /// <param name="trustedRegistrarCas">CAs whose certificates with id-kp-cmcRA are trusted as registrars (RFC 7030 section 3.7); none when null.</param>
    /// <param name="issuingKey">
    /// The issuing CA's key when it is not attached to <paramref name="issuingCa"/> (a PKCS#11 token's); when null,
    /// <paramref name="issuingCa"/> must carry its private key.
    /// </param>
    /// <remarks>Nothing is validated here: the caller has checked that <paramref name="issuingCa"/> is a CA that chains to <paramref name="trustAnchor"/>.</remarks>
    public CaHierarchy(CaDataLayout layout, X509Certificate2 trustAnchor, X509Certificate2 issuingCa, IReadOnlyList<X509Certificate2> intermediates,
        IReadOnlyList<X509Certificate2> trustedManufacturerCas, IReadOnlyList<X509Certificate2>? trustedRegistrarCas = null, CaSigningKey? issuingKey = null)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(trustAnchor);
        ArgumentNullException.ThrowIfNull(issuingCa);
        ArgumentNullException.ThrowIfNull(intermediates);
        ArgumentNullException.ThrowIfNull(trustedManufacturerCas);
        if (issuingKey is null && !issuingCa.HasPrivateKey)
        {
            throw new ArgumentException("The issuing CA certificate needs its private key.", nameof(issuingCa));
        }

        if (issuingKey is not null && !issuingKey.Matches(issuingCa))
        {
            throw new ArgumentException($"{issuingKey.Description} is not the key of the issuing CA certificate.", nameof(issuingKey));
        }

        Layout = layout;
        TrustAnchor = trustAnchor;
        IssuingCa = issuingCa;
        IssuingKey = issuingKey ?? new FileCaSigningKey(issuingCa);
        Intermediates = intermediates;
        TrustedManufacturerCas = trustedManufacturerCas;
        TrustedRegistrarCas = trustedRegistrarCas ?? [];
    }

    /// <summary>File locations.</summary>
    public CaDataLayout Layout { get; }

    /// <summary>The root CA certificate (no private key).</summary>
    public X509Certificate2 TrustAnchor { get; }

    /// <summary>The issuing CA certificate (with its private key when that is a file's).</summary>
    public X509Certificate2 IssuingCa { get; }

    /// <summary>The issuing CA's key: everything the CA signs (certificates, CRLs) is signed through it.</summary>
    public CaSigningKey IssuingKey { get; }

    /// <summary>Certificates between the issuing CA and the trust anchor (empty for the demo hierarchy).</summary>
    public IReadOnlyList<X509Certificate2> Intermediates { get; }

    /// <summary>The CA certificates for EST /crts (RFC 7030 section 4.1.3, RFC 9148): issuing CA, intermediates, trust anchor.</summary>
    public IReadOnlyList<X509Certificate2> CaCertificates => [IssuingCa, .. Intermediates, TrustAnchor];

    /// <summary>
    /// The root CA key update made by <c>coapenroll ca rollover</c> (RFC 9810 §4.4), null when there is none. Its
    /// <see cref="RootCaKeyUpdate.OldWithOld"/> is <see cref="TrustAnchor"/>, which stays this CA's trust anchor until it expires.
    /// </summary>
    public RootCaKeyUpdate? RootCaKeyUpdate { get; init; }

    /// <summary>Manufacturer CAs whose device certificates are accepted for first enrollment.</summary>
    public IReadOnlyList<X509Certificate2> TrustedManufacturerCas { get; }

    /// <summary>
    /// CAs besides this one whose certificates with extendedKeyUsage id-kp-cmcRA are trusted as registrars (RFC 7030 section 3.7,
    /// <see cref="CaOptions.TrustedRegistrarCaFiles"/>).
    /// </summary>
    public IReadOnlyList<X509Certificate2> TrustedRegistrarCas { get; }
}
