using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>
/// Where a CA's private key is kept and how it signs: in a file (<see cref="FileCaSigningKey"/>) or on a PKCS#11 token
/// (<c>CoapEnroll.Ca.Pkcs11</c>). Certificates, CRLs and protection signatures borrow the key with <see cref="AcquireAsync"/> and
/// sign through the <see cref="AsymmetricAlgorithm"/> of the lease, so that X509SignatureGenerator and
/// CertificateRevocationListBuilder work the same for both. Safe for concurrent use.
/// </summary>
public abstract class CaSigningKey : IDisposable
{
    /// <summary>The public key, to check it against the CA certificate.</summary>
    public abstract PublicKey PublicKey { get; }

    /// <summary>How RSA keys sign (PKCS#1 v1.5 unless configured otherwise); unused for ECDSA keys.</summary>
    public virtual RSASignaturePadding RsaPadding => RSASignaturePadding.Pkcs1;

    /// <summary>Where the key is, for messages (never a secret).</summary>
    public abstract string Description { get; }

    /// <summary>
    /// Borrows the key for one signing operation or a few in a row; dispose the lease to give it back. A token's sessions are
    /// bounded: this waits (asynchronously) for a free one.
    /// </summary>
    /// <exception cref="CaKeyUnavailableException">The key cannot be reached now (token removed, session lost); try again later.</exception>
    public abstract ValueTask<CaSigningLease> AcquireAsync(CancellationToken cancellationToken);

    /// <summary>
    /// False while the key is known to be unreachable (a token's session was lost and no reconnection has succeeded since); true
    /// for a key in a file. A loss is known only once an operation met it.
    /// </summary>
    public virtual bool IsAvailable => true;

    /// <summary>
    /// Returns at once when <see cref="IsAvailable"/>; otherwise borrows the key once, which reconnects a token when it can (for
    /// a readiness probe: a server nobody asks still notices that its token is back).
    /// </summary>
    /// <exception cref="CaKeyUnavailableException">The key is still unreachable.</exception>
    public async ValueTask CheckAvailableAsync(CancellationToken cancellationToken)
    {
        if (!IsAvailable)
        {
            using CaSigningLease lease = await AcquireAsync(cancellationToken);
        }
    }

    /// <summary>Whether the key's public key is the one of <paramref name="certificate"/>.</summary>
    public bool Matches(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(certificate.PublicKey.ExportSubjectPublicKeyInfo());
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the key's resources (a token's sessions and module).</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
