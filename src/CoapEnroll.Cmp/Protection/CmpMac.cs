using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;

namespace CoapEnroll.Cmp;

/// <summary>PasswordBasedMac (RFC 4211 §4.4, RFC 9810 §5.1.3.1) and PBMAC1 (RFC 8018 §7.1, RFC 9481 §6.1.2): parameters, key derivation and MAC.</summary>
internal static class CmpMac
{
    /// <summary>The longest salt accepted, in bytes.</summary>
    private const int MaxSaltLength = 1024;

    /// <summary>The longest PBKDF2 key accepted, in bytes (every 32 more bytes costs another run of all iterations).</summary>
    private const int MaxKeyLength = 128;

    /// <summary>Computes the MAC that <paramref name="alg"/> describes over <paramref name="data"/>, after checking the parameters against <paramref name="policy"/>.</summary>
    public static byte[] Compute(CmpAlgorithmIdentifier alg, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> data, CmpMacPolicy policy) => alg.Algorithm switch
    {
        CmpProtectionOids.PasswordBasedMac => ComputePasswordBasedMac(Params(alg), secret, data, policy),
        CmpProtectionOids.Pbmac1 => ComputePbmac1(Params(alg), secret, data, policy),
        _ => throw Fail(CmpProtectionStatus.UnsupportedAlgorithm, $"protectionAlg {alg.Algorithm} is not a supported MAC algorithm"),
    };

    /// <summary>The protectionAlg for <paramref name="parameters"/> with a fresh random salt.</summary>
    public static CmpAlgorithmIdentifier CreateAlgorithm(CmpMacParameters parameters)
    {
        byte[] salt = RandomNumberGenerator.GetBytes(parameters.SaltLength);
        var writer = new AsnWriter(CmpDer.Rules);
        writer.PushSequence();
        if (parameters.Kind == CmpProtectionKind.PasswordBasedMac)
        {
            // PBMParameter ::= SEQUENCE { salt, owf, iterationCount, mac } (RFC 4211 §4.4).
            writer.WriteOctetString(salt);
            WriteAlgorithm(writer, CmpProtectionOids.Sha256, withNull: false); // RFC 5754 §2: SHA-2 parameters absent.
            writer.WriteInteger(parameters.Iterations);
            WriteAlgorithm(writer, CmpProtectionOids.HmacWithSha256, withNull: true); // RFC 8018 §B.1.2: NULL.
            writer.PopSequence();
            return new CmpAlgorithmIdentifier { Algorithm = CmpProtectionOids.PasswordBasedMac, Parameters = writer.Encode() };
        }

        // PBMAC1-params ::= SEQUENCE { keyDerivationFunc, messageAuthScheme } (RFC 8018 §A.5).
        writer.PushSequence();
        writer.WriteObjectIdentifier(CmpProtectionOids.Pbkdf2);
        writer.PushSequence(); // PBKDF2-params (RFC 8018 §A.2)
        writer.WriteOctetString(salt);
        writer.WriteInteger(parameters.Iterations);
        writer.WriteInteger(parameters.KeyLength);
        WriteAlgorithm(writer, CmpProtectionOids.HmacWithSha256, withNull: true);
        writer.PopSequence();
        writer.PopSequence();
        WriteAlgorithm(writer, CmpProtectionOids.HmacWithSha256, withNull: true);
        writer.PopSequence();
        return new CmpAlgorithmIdentifier { Algorithm = CmpProtectionOids.Pbmac1, Parameters = writer.Encode() };
    }

    private static byte[] ComputePasswordBasedMac(ReadOnlyMemory<byte> parameters, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> data, CmpMacPolicy policy)
    {
        AsnReader seq = Sequence(parameters, "PBMParameter");
        byte[] salt = seq.ReadOctetString();
        CmpAlgorithmIdentifier owf = CmpAlgorithmIdentifier.Read(seq);
        int iterations = ReadCount(seq);
        CmpAlgorithmIdentifier mac = CmpAlgorithmIdentifier.Read(seq);
        seq.ThrowIfNotEmpty();

        HashAlgorithmName owfHash = CmpProtectionOids.Hash(owf.Algorithm)
            ?? throw Fail(CmpProtectionStatus.UnsupportedAlgorithm, $"PasswordBasedMac owf {owf.Algorithm} is not supported");
        RequireAbsentOrNull(owf, "owf");
        CheckSha1(owfHash, policy, "PasswordBasedMac owf SHA-1");
        HashAlgorithmName macHash = HmacHash(mac, policy);
        CheckIterations(iterations, policy);
        CheckSalt(salt, policy);

        // key = owf^iterationCount(secret || salt) (RFC 4211 §4.4).
        int hashLength = CmpProtectionOids.HashLength(owfHash);
        byte[] input = new byte[secret.Length + salt.Length];
        byte[] key = new byte[hashLength];
        try
        {
            secret.CopyTo(input);
            salt.CopyTo(input.AsSpan(secret.Length));
            CryptographicOperations.HashData(owfHash, input, key);
            for (int i = 1; i < iterations; i++)
            {
                CryptographicOperations.HashData(owfHash, key, key);
            }

            return CryptographicOperations.HmacData(macHash, key, data);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(input);
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static byte[] ComputePbmac1(ReadOnlyMemory<byte> parameters, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> data, CmpMacPolicy policy)
    {
        AsnReader seq = Sequence(parameters, "PBMAC1-params");
        CmpAlgorithmIdentifier kdf = CmpAlgorithmIdentifier.Read(seq);
        CmpAlgorithmIdentifier mac = CmpAlgorithmIdentifier.Read(seq);
        seq.ThrowIfNotEmpty();
        if (kdf.Algorithm != CmpProtectionOids.Pbkdf2)
        {
            throw Fail(CmpProtectionStatus.UnsupportedAlgorithm, $"PBMAC1 keyDerivationFunc {kdf.Algorithm} is not PBKDF2");
        }

        HashAlgorithmName macHash = HmacHash(mac, policy);
        if (kdf.Parameters is not { } kdfParameters)
        {
            throw Fail(CmpProtectionStatus.Malformed, "PBKDF2-params are absent");
        }

        // PBKDF2-params ::= SEQUENCE { salt CHOICE { specified OCTET STRING, otherSource }, iterationCount, keyLength OPTIONAL, prf DEFAULT hmacWithSHA1 }.
        AsnReader p = Sequence(kdfParameters, "PBKDF2-params");
        if (!CmpDer.PeekIs(p, Asn1Tag.PrimitiveOctetString))
        {
            throw Fail(CmpProtectionStatus.UnsupportedAlgorithm, "PBKDF2 salt is not a specified OCTET STRING");
        }

        byte[] salt = p.ReadOctetString();
        int iterations = ReadCount(p);
        int? keyLength = CmpDer.PeekIs(p, Asn1Tag.Integer) ? ReadCount(p) : null;
        HashAlgorithmName prfHash = HashAlgorithmName.SHA1;
        if (p.HasData)
        {
            CmpAlgorithmIdentifier prf = CmpAlgorithmIdentifier.Read(p);
            prfHash = HmacHash(prf, policy, "PBKDF2 prf");
        }
        else
        {
            CheckSha1(prfHash, policy, "PBKDF2 prf hmacWithSHA1 (the default)");
        }

        p.ThrowIfNotEmpty();
        CheckIterations(iterations, policy);
        CheckSalt(salt, policy);
        int length = keyLength ?? CmpProtectionOids.HashLength(macHash);
        if (length < policy.MinKeyLength)
        {
            throw Fail(CmpProtectionStatus.WeakParameters, $"PBKDF2 keyLength {length} is below the minimum {policy.MinKeyLength}");
        }

        if (length > MaxKeyLength)
        {
            throw Fail(CmpProtectionStatus.WeakParameters, $"PBKDF2 keyLength {length} exceeds the maximum {MaxKeyLength}");
        }

        byte[] key = Rfc2898DeriveBytes.Pbkdf2(secret, salt, iterations, prfHash, length);
        try
        {
            return CryptographicOperations.HmacData(macHash, key, data);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static ReadOnlyMemory<byte> Params(CmpAlgorithmIdentifier alg) =>
        alg.Parameters ?? throw Fail(CmpProtectionStatus.Malformed, $"protectionAlg {alg.Algorithm} has no parameters");

    private static AsnReader Sequence(ReadOnlyMemory<byte> der, string what)
    {
        var reader = new AsnReader(der, CmpDer.Rules);
        AsnReader seq = reader.ReadSequence();
        if (reader.HasData)
        {
            throw Fail(CmpProtectionStatus.Malformed, $"data follows the {what}");
        }

        return seq;
    }

    /// <summary>Reads an iteration count or key length; values outside the int range become 0 (too small) or int.MaxValue (too large), so the policy refuses them.</summary>
    private static int ReadCount(AsnReader reader)
    {
        if (reader.TryReadInt32(out int value))
        {
            return value;
        }

        BigInteger big = reader.ReadInteger();
        return big.Sign > 0 ? int.MaxValue : 0;
    }

    private static HashAlgorithmName HmacHash(CmpAlgorithmIdentifier mac, CmpMacPolicy policy, string what = "MAC")
    {
        HashAlgorithmName hash = CmpProtectionOids.Hmac(mac.Algorithm)
            ?? throw Fail(CmpProtectionStatus.UnsupportedAlgorithm, $"{what} algorithm {mac.Algorithm} is not a supported HMAC");
        RequireAbsentOrNull(mac, what);
        CheckSha1(hash, policy, $"{what} HMAC-SHA1");
        return hash;
    }

    private static void CheckSha1(HashAlgorithmName hash, CmpMacPolicy policy, string what)
    {
        if (hash == HashAlgorithmName.SHA1 && !policy.AllowHmacSha1)
        {
            throw Fail(CmpProtectionStatus.UnsupportedAlgorithm, $"{what} relies on SHA-1, which the policy does not allow");
        }
    }

    private static void CheckIterations(int iterations, CmpMacPolicy policy)
    {
        if (iterations < policy.MinIterations)
        {
            throw Fail(CmpProtectionStatus.WeakParameters, $"iterationCount {iterations} is below the minimum {policy.MinIterations}");
        }

        if (iterations > policy.MaxIterations)
        {
            throw Fail(CmpProtectionStatus.WeakParameters, $"iterationCount {iterations} exceeds the maximum {policy.MaxIterations}");
        }
    }

    private static void CheckSalt(byte[] salt, CmpMacPolicy policy)
    {
        if (salt.Length < policy.MinSaltLength)
        {
            throw Fail(CmpProtectionStatus.WeakParameters, $"salt of {salt.Length} bytes is shorter than the minimum {policy.MinSaltLength}");
        }

        if (salt.Length > MaxSaltLength)
        {
            throw Fail(CmpProtectionStatus.WeakParameters, $"salt of {salt.Length} bytes exceeds the maximum {MaxSaltLength}");
        }
    }

    /// <summary>Hash and HMAC identifiers carry no parameters or NULL (RFC 5754 §2, RFC 8018 §B.1).</summary>
    private static void RequireAbsentOrNull(CmpAlgorithmIdentifier alg, string what)
    {
        if (alg.Parameters is { } p && !p.Span.SequenceEqual((ReadOnlySpan<byte>)[0x05, 0x00]))
        {
            throw Fail(CmpProtectionStatus.Malformed, $"{what} {alg.Algorithm} parameters are neither absent nor NULL");
        }
    }

    private static void WriteAlgorithm(AsnWriter writer, string oid, bool withNull)
    {
        writer.PushSequence();
        writer.WriteObjectIdentifier(oid);
        if (withNull)
        {
            writer.WriteNull();
        }

        writer.PopSequence();
    }

    private static CmpProtectionException Fail(CmpProtectionStatus status, string detail) => new(status, detail);
}
