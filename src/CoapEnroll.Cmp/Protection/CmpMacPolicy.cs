namespace CoapEnroll.Cmp;

/// <summary>What a receiver accepts in the parameters of a MAC-protected PKIMessage.</summary>
/// <remarks>
/// Defaults: at least 1000 and at most 100,000 iterations (the maximum caps the work an unauthenticated
/// peer can make the receiver do), no HMAC-SHA1 and no SHA-1 one-way function, salts of at least 8 bytes,
/// PBMAC1 keys of at least 16 bytes.
/// </remarks>
public sealed class CmpMacPolicy
{
    private int _minIterations = 1000;
    private int _maxIterations = 100_000;
    private int _minSaltLength = 8;
    private int _minKeyLength = 16;

    /// <summary>The fewest iterations accepted; at least 1. Default 1000.</summary>
    public int MinIterations
    {
        get => _minIterations;
        set => _minIterations = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "at least 1 iteration");
    }

    /// <summary>The most iterations accepted (a cap on the cost of one verification); at least 1. Default 100,000.</summary>
    public int MaxIterations
    {
        get => _maxIterations;
        set => _maxIterations = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "at least 1 iteration");
    }

    /// <summary>Whether HMAC-SHA1 (and, for PasswordBasedMac, the SHA-1 one-way function) is accepted, as OpenSSL's client uses by default. Default false.</summary>
    public bool AllowHmacSha1 { get; set; }

    /// <summary>The shortest salt accepted, in bytes; 0 or more. Default 8.</summary>
    public int MinSaltLength
    {
        get => _minSaltLength;
        set => _minSaltLength = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "not negative");
    }

    /// <summary>The shortest PBMAC1 derived key accepted (PBKDF2 keyLength), in bytes; at least 1. Default 16.</summary>
    public int MinKeyLength
    {
        get => _minKeyLength;
        set => _minKeyLength = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "at least 1 byte");
    }
}
