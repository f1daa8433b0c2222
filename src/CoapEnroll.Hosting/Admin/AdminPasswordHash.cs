using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CoapEnroll.Hosting;

/// <summary>
/// The operator's stored password: PBKDF2-HMAC-SHA512 (RFC 8018) with a random 16-byte salt, encoded
/// <c>pbkdf2-sha512$ITERATIONS$SALT$HASH</c> (salt and hash in base64). Verification compares in constant time.
/// </summary>
public sealed class AdminPasswordHash
{
    private const string Scheme = "pbkdf2-sha512";
    private const int SaltLength = 16;
    private const int HashLength = 64;

    /// <summary>The iterations <see cref="Create"/> uses by default (OWASP's figure for PBKDF2-HMAC-SHA512).</summary>
    public const int DefaultIterations = 210_000;

    /// <summary>Fewer iterations than this are refused when parsing: a hash that cheap is not worth storing.</summary>
    public const int MinIterations = 10_000;

    /// <summary>More than this are refused: each login attempt would cost the server seconds of CPU.</summary>
    public const int MaxIterations = 5_000_000;

    private readonly byte[] _salt;
    private readonly byte[] _hash;

    private AdminPasswordHash(int iterations, byte[] salt, byte[] hash)
    {
        Iterations = iterations;
        _salt = salt;
        _hash = hash;
    }

    public int Iterations { get; }

    /// <summary>Hashes <paramref name="password"/> with a new salt; returns the encoded form for <c>Admin:PasswordHash</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="iterations"/> is outside <see cref="MinIterations"/>..<see cref="MaxIterations"/>.</exception>
    public static string Create(string password, int iterations = DefaultIterations)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, MinIterations);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(iterations, MaxIterations);
        byte[] salt = RandomNumberGenerator.GetBytes(SaltLength);
        byte[] hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, HashLength);
        return string.Create(CultureInfo.InvariantCulture, $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>Parses the encoded form; false when it is not one <see cref="Create"/> makes.</summary>
    public static bool TryParse(string encoded, out AdminPasswordHash? hash)
    {
        hash = null;
        string[] parts = encoded.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int iterations) || iterations is < MinIterations or > MaxIterations)
        {
            return false;
        }

        try
        {
            byte[] salt = Convert.FromBase64String(parts[2]);
            byte[] value = Convert.FromBase64String(parts[3]);
            if (salt.Length < SaltLength || value.Length < 32)
            {
                return false;
            }

            hash = new AdminPasswordHash(iterations, salt, value);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Whether <paramref name="password"/> is the hashed password (always the full PBKDF2 work, compared in constant time).</summary>
    public bool Verify(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        byte[] candidate = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), _salt, Iterations, HashAlgorithmName.SHA512, _hash.Length);
        return CryptographicOperations.FixedTimeEquals(candidate, _hash);
    }
}
