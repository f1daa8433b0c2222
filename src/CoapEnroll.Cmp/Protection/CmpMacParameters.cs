namespace CoapEnroll.Cmp;

/// <summary>How <see cref="CmpProtection.ProtectWithMac"/> protects an outgoing message; a fresh random salt is drawn for every message.</summary>
public sealed class CmpMacParameters
{
    private CmpMacParameters(CmpProtectionKind kind, int iterations, int saltLength, int keyLength)
    {
        Kind = kind;
        Iterations = iterations;
        SaltLength = saltLength;
        KeyLength = keyLength;
    }

    /// <summary><see cref="CmpProtectionKind.PasswordBasedMac"/> or <see cref="CmpProtectionKind.Pbmac1"/>.</summary>
    public CmpProtectionKind Kind { get; }

    /// <summary>The iteration count.</summary>
    public int Iterations { get; }

    /// <summary>The salt length in bytes.</summary>
    public int SaltLength { get; }

    /// <summary>The PBKDF2 derived key length in bytes (PBMAC1); 0 for PasswordBasedMac, whose key is the one-way function's output.</summary>
    public int KeyLength { get; }

    /// <summary>PasswordBasedMac (RFC 4211 §4.4): owf SHA-256, mac HMAC-SHA256, a 16-byte random salt.</summary>
    /// <param name="iterations">The iteration count, at least 1 (RFC 4211 asks for at least 100; receivers often require 1000).</param>
    public static CmpMacParameters PasswordBasedMac(int iterations = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        return new CmpMacParameters(CmpProtectionKind.PasswordBasedMac, iterations, 16, 0);
    }

    /// <summary>PBMAC1 (RFC 8018 §7.1, RFC 9481 §6.1.2): PBKDF2 with HMAC-SHA256, a 32-byte key and a 16-byte random salt; HMAC-SHA256 as the MAC.</summary>
    /// <param name="iterations">The PBKDF2 iteration count, at least 1.</param>
    public static CmpMacParameters Pbmac1(int iterations = 10_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        return new CmpMacParameters(CmpProtectionKind.Pbmac1, iterations, 16, 32);
    }
}
