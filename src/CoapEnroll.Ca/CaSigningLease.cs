using System.Security.Cryptography;

namespace CoapEnroll.Ca;

/// <summary>A CA key borrowed from <see cref="CaSigningKey.AcquireAsync"/>: sign with <see cref="Key"/>, then dispose to give it back.</summary>
public sealed class CaSigningLease : IDisposable
{
    private Action? _release;

    /// <param name="key">An <see cref="ECDsa"/> or <see cref="RSA"/> that signs with the CA key.</param>
    /// <param name="padding">How <paramref name="key"/> signs when it is RSA.</param>
    /// <param name="release">Gives the key back (once).</param>
    public CaSigningLease(AsymmetricAlgorithm key, RSASignaturePadding padding, Action release)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(padding);
        ArgumentNullException.ThrowIfNull(release);
        Key = key;
        RsaPadding = padding;
        _release = release;
    }

    /// <summary>The key to sign with; valid until the lease is disposed.</summary>
    public AsymmetricAlgorithm Key { get; }

    /// <summary>How <see cref="Key"/> signs when it is RSA.</summary>
    public RSASignaturePadding RsaPadding { get; }

    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
}
