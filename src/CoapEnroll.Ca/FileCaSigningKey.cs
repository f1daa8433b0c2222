using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>A CA key held in memory with its certificate (loaded from a PEM file): each lease gets its own key object.</summary>
public sealed class FileCaSigningKey : CaSigningKey
{
    private readonly X509Certificate2 _certificate;

    /// <param name="certificate">The CA certificate with its private key.</param>
    /// <exception cref="ArgumentException">The certificate has no private key.</exception>
    public FileCaSigningKey(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException($"certificate {certificate.Subject} has no private key", nameof(certificate));
        }

        _certificate = certificate;
    }

    public override PublicKey PublicKey => _certificate.PublicKey;

    public override string Description => $"the key file of {_certificate.Subject}";

    public override ValueTask<CaSigningLease> AcquireAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // GetECDsaPrivateKey/GetRSAPrivateKey hand out a new object per call, owned by the caller; concurrent issuances each get their own.
        AsymmetricAlgorithm key = CertificateFactory.PrivateKeyOf(_certificate);
        return ValueTask.FromResult(new CaSigningLease(key, RsaPadding, key.Dispose));
    }
}
