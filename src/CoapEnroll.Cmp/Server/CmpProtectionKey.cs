using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Cmp;

/// <summary>
/// What signs the CMP server's signature-protected messages (RFC 9483 §3.2): a certificate, its chain for extraCerts, and a
/// <see cref="CaSigningKey"/> that signs for it, borrowed for each message through the CA key seam, so that the key may be in a file
/// (<see cref="FileCaSigningKey"/>, the server credential) or on a PKCS#11 token (the issuing CA's key, <c>Cmp:ProtectionKey=Ca</c>).
/// </summary>
public sealed class CmpProtectionKey
{
    private readonly CaSigningKey _key;

    /// <param name="certificate">The protection certificate: sender and senderKID name it, it is the first of extraCerts.</param>
    /// <param name="chain">Its chain up to, not including, the root, added to extraCerts.</param>
    /// <param name="key">The private key of <paramref name="certificate"/>.</param>
    /// <exception cref="ArgumentException">The key is not the one of <paramref name="certificate"/>, or its KeyUsage excludes digitalSignature (RFC 9483 §3.5).</exception>
    public CmpProtectionKey(X509Certificate2 certificate, IReadOnlyList<X509Certificate2> chain, CaSigningKey key)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(key);
        if (!key.Matches(certificate))
        {
            throw new ArgumentException($"{key.Description} is not the key of {certificate.Subject}", nameof(key));
        }

        if (!AllowsSignatures(certificate))
        {
            throw new ArgumentException($"the KeyUsage of {certificate.Subject} excludes digitalSignature, which CMP protection needs (RFC 9483 §3.5)", nameof(certificate));
        }

        Certificate = certificate;
        Chain = chain;
        _key = key;
        KeyId = CmpServer.SubjectKeyIdOf(certificate);
    }

    /// <summary>A protection key held with its certificate in memory (a PEM credential).</summary>
    /// <exception cref="ArgumentException">The certificate has no private key, or its KeyUsage excludes digitalSignature.</exception>
    public static CmpProtectionKey FromCredential(X509Certificate2 certificate, IReadOnlyList<X509Certificate2> chain)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException("the CMP signer certificate needs its private key", nameof(certificate));
        }

        return new CmpProtectionKey(certificate, chain, new FileCaSigningKey(certificate));
    }

    /// <summary>Whether <paramref name="certificate"/> may sign CMP messages: no KeyUsage, or one with digitalSignature.</summary>
    public static bool AllowsSignatures(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return certificate.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault() is not { } usage
            || (usage.KeyUsages & X509KeyUsageFlags.DigitalSignature) != 0;
    }

    /// <summary>The protection certificate.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Its chain up to, not including, the root.</summary>
    public IReadOnlyList<X509Certificate2> Chain { get; }

    /// <summary>Where the key is, for messages.</summary>
    public string Description => _key.Description;

    /// <summary>The senderKID of signed messages: the certificate's subject key identifier.</summary>
    internal byte[] KeyId { get; }

    /// <summary>
    /// Signs <paramref name="unprotected"/> (whose header names <see cref="Certificate"/>) with the key, borrowed for this one
    /// signature; extraCerts are the certificate, <see cref="Chain"/> and <paramref name="moreCertificates"/>, each once.
    /// </summary>
    /// <exception cref="CaKeyUnavailableException">The key cannot be reached now (a token removed).</exception>
    public async ValueTask<PkiMessage> ProtectAsync(PkiMessage unprotected, IReadOnlyList<X509Certificate2> moreCertificates, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(unprotected);
        ArgumentNullException.ThrowIfNull(moreCertificates);
        var extra = new List<X509Certificate2>(Chain);
        extra.AddRange(moreCertificates);
        using CaSigningLease lease = await _key.AcquireAsync(cancellationToken);
        return CmpProtection.ProtectWithSignature(unprotected, Certificate, lease.Key, lease.RsaPadding, extra);
    }
}
