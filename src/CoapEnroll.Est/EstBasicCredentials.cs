using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CoapEnroll.Enrollment;

namespace CoapEnroll.Est;

/// <summary>
/// The users of HTTP Basic authentication (<see cref="EstServerOptions.BasicUsers"/>), checked once at startup, and the check of an
/// <c>Authorization: Basic</c> header (RFC 7617) against them in constant time.
/// </summary>
internal sealed class EstBasicCredentials
{
    public const int MinIterations = 10_000;
    private const string HashScheme = "pbkdf2-sha256";

    private readonly Dictionary<string, User> _users = new(StringComparer.Ordinal);

    // Compared against when the user is unknown, so that a wrong name costs what a wrong password costs.
    private readonly User _nobody = new(new byte[16], 100_000, new byte[32], new SharedSecretGrant());

    /// <exception cref="ArgumentException">An entry is unusable; the message names it.</exception>
    public EstBasicCredentials(IDictionary<string, EstBasicUserOptions> users)
    {
        foreach ((string name, EstBasicUserOptions user) in users)
        {
            string key = $"Est:BasicUsers:{name}";
            if (name.Length is 0 or > 128 || name.Contains(':', StringComparison.Ordinal) || name.Any(char.IsControl))
            {
                throw new ArgumentException($"{key}: a user name has 1 to 128 characters, neither ':' nor control characters (RFC 7617 section 2)");
            }

            if ((user.Password is null) == (user.PasswordHash is null))
            {
                throw new ArgumentException($"{key}: set exactly one of Password and PasswordHash");
            }

            var grant = new SharedSecretGrant { Profile = user.Profile, Subject = user.Subject, AnyName = user.AnyName };
            _users[name] = user.Password is { } password
                ? new User(null, 0, SHA256.HashData(Encoding.UTF8.GetBytes(password)), grant)
                : ParseHash(key, user.PasswordHash!, grant);
        }
    }

    public bool IsEmpty => _users.Count == 0;

    /// <summary>
    /// The user and grant for the credentials of an <c>Authorization</c> header; <see cref="Check.NotBasic"/> when the header is absent
    /// or not Basic, <see cref="Check.Malformed"/> or <see cref="Check.Wrong"/> when Basic credentials do not authenticate.
    /// </summary>
    public Check Verify(string? authorization, out string? user, out SharedSecretGrant? grant)
    {
        user = null;
        grant = null;
        if (authorization is null || !authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return Check.NotBasic;
        }

        byte[] decoded;
        try
        {
            decoded = Convert.FromBase64String(authorization["Basic ".Length..].Trim());
        }
        catch (FormatException)
        {
            return Check.Malformed;
        }

        // RFC 7617 §2: user-id ":" password, UTF-8 (the charset this server announces).
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(decoded);
        }
        catch (DecoderFallbackException)
        {
            return Check.Malformed;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(decoded);
        }

        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return Check.Malformed;
        }

        string name = text[..colon];
        bool known = _users.TryGetValue(name, out User? found);
        User candidate = found ?? _nobody;
        if (!candidate.Matches(text.AsSpan(colon + 1)) || !known)
        {
            return Check.Wrong;
        }

        user = name;
        grant = candidate.Grant;
        return Check.Valid;
    }

    private static User ParseHash(string key, string value, SharedSecretGrant grant)
    {
        string[] parts = value.Split('$');
        try
        {
            if (parts.Length == 4 && parts[0] == HashScheme
                && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int iterations) && iterations >= MinIterations)
            {
                byte[] salt = Convert.FromBase64String(parts[2]);
                byte[] hash = Convert.FromBase64String(parts[3]);
                if (salt.Length >= 8 && hash.Length == 32)
                {
                    return new User(salt, iterations, hash, grant);
                }
            }
        }
        catch (FormatException)
        {
        }

        throw new ArgumentException($"{key}:PasswordHash: expected {HashScheme}$ITERATIONS$SALT$HASH (ITERATIONS at least {MinIterations}, SALT of at least 8 bytes and a 32-byte HASH in base64)");
    }

    public enum Check
    {
        NotBasic,
        Malformed,
        Wrong,
        Valid,
    }

    /// <summary>A user's verifier: PBKDF2 (salt, iterations, hash) or, for a password in the clear, its SHA-256.</summary>
    private sealed record User(byte[]? Salt, int Iterations, byte[] Hash, SharedSecretGrant Grant)
    {
        public bool Matches(ReadOnlySpan<char> password)
        {
            byte[] given = Encoding.UTF8.GetBytes(password.ToArray());
            try
            {
                // Fixed-length digests compared in constant time: neither the length nor the first differing byte shows.
                byte[] derived = Salt is null ? SHA256.HashData(given) : Rfc2898DeriveBytes.Pbkdf2(given, Salt, Iterations, HashAlgorithmName.SHA256, 32);
                return CryptographicOperations.FixedTimeEquals(derived, Hash);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(given);
            }
        }
    }
}
