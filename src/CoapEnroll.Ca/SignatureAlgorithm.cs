using System.Collections.Frozen;
using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;

namespace CoapEnroll.Ca;

/// <summary>
/// A signature AlgorithmIdentifier as this CA reads it: ECDSA (RFC 5758 section 3.2), RSASSA-PKCS1-v1_5 and RSASSA-PSS
/// (RFC 4055) with SHA-1 or SHA-2, in the forms the platform verifies; anything else is recognized only as unsupported, with a name.
/// </summary>
internal sealed class SignatureAlgorithm
{
    private const string EcdsaSha1 = "1.2.840.10045.4.1";
    private const string EcdsaSha256 = "1.2.840.10045.4.3.2";
    private const string EcdsaSha384 = "1.2.840.10045.4.3.3";
    private const string EcdsaSha512 = "1.2.840.10045.4.3.4";
    private const string RsaSha1 = "1.2.840.113549.1.1.5";
    private const string RsaSha256 = "1.2.840.113549.1.1.11";
    private const string RsaSha384 = "1.2.840.113549.1.1.12";
    private const string RsaSha512 = "1.2.840.113549.1.1.13";
    private const string RsaPss = "1.2.840.113549.1.1.10";
    private const string Mgf1 = "1.2.840.113549.1.1.8";
    private const string Sha1 = "1.3.14.3.2.26";
    private const string Sha256 = "2.16.840.1.101.3.4.2.1";
    private const string Sha384 = "2.16.840.1.101.3.4.2.2";
    private const string Sha512 = "2.16.840.1.101.3.4.2.3";

    // Names for the refusal text of algorithms seen in the wild that are not verified here.
    private static readonly FrozenDictionary<string, string> s_unsupportedNames = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["1.3.101.112"] = "Ed25519",
        ["1.3.101.113"] = "Ed448",
        ["1.2.840.10040.4.3"] = "dsa-with-SHA1",
        ["2.16.840.1.101.3.4.3.1"] = "dsa-with-SHA224",
        ["2.16.840.1.101.3.4.3.2"] = "dsa-with-SHA256",
        ["1.2.840.10045.4.3.1"] = "ecdsa-with-SHA224",
        ["1.2.840.113549.1.1.2"] = "md2WithRSAEncryption",
        ["1.2.840.113549.1.1.4"] = "md5WithRSAEncryption",
        ["1.2.840.113549.1.1.14"] = "sha224WithRSAEncryption",
        ["2.16.840.1.101.3.4.3.10"] = "ecdsa-with-SHA3-256",
        ["2.16.840.1.101.3.4.3.14"] = "RSASSA-PKCS1-v1_5 with SHA3-256",
        ["1.2.156.10197.1.501"] = "SM2 with SM3",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, string> s_keyAlgorithmNames = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["1.3.101.110"] = "X25519",
        ["1.3.101.111"] = "X448",
        ["1.3.101.112"] = "Ed25519",
        ["1.3.101.113"] = "Ed448",
        ["1.2.840.10040.4.1"] = "DSA",
        ["1.2.840.10046.2.1"] = "DH",
        ["1.2.840.113549.1.1.10"] = "RSASSA-PSS",
        ["1.2.156.10197.1.301"] = "SM2",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private SignatureAlgorithm(SignatureFamily family, HashAlgorithmName hash, string name, string? unsupported)
    {
        Family = family;
        Hash = hash;
        Name = name;
        Unsupported = unsupported;
    }

    /// <summary>Which verification applies.</summary>
    public SignatureFamily Family { get; }

    /// <summary>The hash (for <see cref="SignatureFamily.RsaPss"/> also the MGF1 hash; the salt is as long as it).</summary>
    public HashAlgorithmName Hash { get; }

    /// <summary>A name for messages, e.g. "ecdsa-with-SHA256".</summary>
    public string Name { get; }

    /// <summary>Why it is not supported, when <see cref="Family"/> is <see cref="SignatureFamily.Unsupported"/>.</summary>
    public string? Unsupported { get; }

    /// <summary>A public key algorithm for messages: its name and OID when known, else the OID.</summary>
    public static string KeyAlgorithmName(string? oid) =>
        oid is null ? "(none)" : s_keyAlgorithmNames.TryGetValue(oid, out string? name) ? $"{name} ({oid})" : oid;

    /// <summary>Reads an AlgorithmIdentifier; null with the problem when it is not well-formed for its algorithm.</summary>
    public static SignatureAlgorithm? Read(ReadOnlyMemory<byte> algorithmIdentifier, out string? malformed)
    {
        malformed = null;
        try
        {
            var outer = new AsnReader(algorithmIdentifier, AsnEncodingRules.DER);
            AsnReader identifier = outer.ReadSequence();
            outer.ThrowIfNotEmpty();
            string oid = identifier.ReadObjectIdentifier();
            ReadOnlyMemory<byte>? parameters = identifier.HasData ? identifier.ReadEncodedValue() : (ReadOnlyMemory<byte>?)null;
            identifier.ThrowIfNotEmpty();
            switch (oid)
            {
                case EcdsaSha1 or EcdsaSha256 or EcdsaSha384 or EcdsaSha512:
                    // RFC 5758 section 3.2: the parameters MUST be absent.
                    if (parameters is not null)
                    {
                        malformed = $"{EcdsaName(oid)} must have no parameters (RFC 5758 section 3.2)";
                        return null;
                    }

                    return new SignatureAlgorithm(SignatureFamily.Ecdsa, EcdsaHash(oid), EcdsaName(oid), null);

                case RsaSha1 or RsaSha256 or RsaSha384 or RsaSha512:
                    // RFC 4055 section 5: NULL parameters; absent ones are common enough in the wild to accept.
                    if (parameters is { } p && !IsNull(p))
                    {
                        malformed = $"{RsaName(oid)} parameters must be NULL (RFC 4055 section 5)";
                        return null;
                    }

                    return new SignatureAlgorithm(SignatureFamily.RsaPkcs1, RsaHash(oid), RsaName(oid), null);

                case RsaPss:
                    // RFC 4055 section 3.1: in a signature's AlgorithmIdentifier the parameters MUST be present.
                    if (parameters is null)
                    {
                        malformed = "RSASSA-PSS without RSASSA-PSS-params (RFC 4055 section 3.1)";
                        return null;
                    }

                    return ReadPss(parameters.Value, out malformed);

                default:
                    string name = s_unsupportedNames.TryGetValue(oid, out string? known) ? $"{known} ({oid})" : oid;
                    return new SignatureAlgorithm(SignatureFamily.Unsupported, default, name, $"the signature algorithm {name} is not supported");
            }
        }
        catch (AsnContentException ex)
        {
            malformed = $"the signature algorithm cannot be decoded: {ex.Message}";
            return null;
        }
    }

    // RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] DEFAULT sha1, maskGenAlgorithm [1] DEFAULT mgf1SHA1,
    //   saltLength [2] INTEGER DEFAULT 20, trailerField [3] INTEGER DEFAULT 1 }, explicitly tagged (RFC 4055 section 3.1).
    private static SignatureAlgorithm? ReadPss(ReadOnlyMemory<byte> parameters, out string? malformed)
    {
        malformed = null;
        var outer = new AsnReader(parameters, AsnEncodingRules.DER);
        AsnReader sequence = outer.ReadSequence();
        outer.ThrowIfNotEmpty();
        string hash = Sha1;
        string mgf = Mgf1;
        string mgfHash = Sha1;
        BigInteger salt = 20;
        BigInteger trailer = 1;
        for (int tag = 0; tag <= 3; tag++)
        {
            var expected = new Asn1Tag(TagClass.ContextSpecific, tag, isConstructed: true);
            if (!sequence.HasData || !sequence.PeekTag().HasSameClassAndValue(expected))
            {
                continue;
            }

            AsnReader field = sequence.ReadSequence(expected);
            switch (tag)
            {
                case 0:
                    hash = ReadHashIdentifier(field);
                    break;
                case 1:
                    AsnReader generator = field.ReadSequence();
                    mgf = generator.ReadObjectIdentifier();
                    if (mgf == Mgf1)
                    {
                        // MGF1's parameters are the hash's AlgorithmIdentifier.
                        mgfHash = ReadHashIdentifier(generator);
                    }
                    else if (generator.HasData)
                    {
                        generator.ReadEncodedValue();
                    }

                    generator.ThrowIfNotEmpty();
                    break;
                case 2:
                    salt = field.ReadInteger();
                    break;
                default:
                    trailer = field.ReadInteger();
                    break;
            }

            field.ThrowIfNotEmpty();
        }

        sequence.ThrowIfNotEmpty();
        string hashName = HashName(hash);
        string description = $"RSASSA-PSS with {hashName}, {(mgf == Mgf1 ? "MGF1-" + HashName(mgfHash) : "mask generation " + mgf)}, salt length {salt}";
        if (trailer != 1)
        {
            malformed = $"RSASSA-PSS trailerField {trailer} (RFC 4055 section 3.1: only 1)";
            return null;
        }

        if (salt < 0)
        {
            malformed = $"RSASSA-PSS saltLength {salt} is negative";
            return null;
        }

        HashAlgorithmName? algorithm = hash switch
        {
            Sha1 => HashAlgorithmName.SHA1,
            Sha256 => HashAlgorithmName.SHA256,
            Sha384 => HashAlgorithmName.SHA384,
            Sha512 => HashAlgorithmName.SHA512,
            _ => null,
        };
        int hashLength = algorithm is null ? 0 : HashLength(algorithm.Value);

        // The platform's PSS (RSASignaturePadding.Pss) uses MGF1 with the message hash and a salt as long as the hash; RFC 4055
        // section 3.1 recommends exactly that, and any other combination is refused as unsupported rather than as a bad signature.
        if (algorithm is null || mgf != Mgf1 || mgfHash != hash || salt != hashLength)
        {
            return new SignatureAlgorithm(SignatureFamily.Unsupported, default, description,
                $"{description} is not supported: only MGF1 with the same hash and a salt as long as the hash ({(hashLength > 0 ? hashLength : "the hash length")} octets)");
        }

        return new SignatureAlgorithm(SignatureFamily.RsaPss, algorithm.Value, description, null);
    }

    // A hash AlgorithmIdentifier: OID with NULL or absent parameters (RFC 4055 section 2.1).
    private static string ReadHashIdentifier(AsnReader reader)
    {
        AsnReader identifier = reader.ReadSequence();
        string oid = identifier.ReadObjectIdentifier();
        if (identifier.HasData)
        {
            identifier.ReadNull();
        }

        identifier.ThrowIfNotEmpty();
        return oid;
    }

    private static bool IsNull(ReadOnlyMemory<byte> encoded) => encoded.Span.SequenceEqual((ReadOnlySpan<byte>)[0x05, 0x00]);

    private static int HashLength(HashAlgorithmName hash) =>
        hash == HashAlgorithmName.SHA1 ? 20 : hash == HashAlgorithmName.SHA256 ? 32 : hash == HashAlgorithmName.SHA384 ? 48 : 64;

    private static string HashName(string oid) => oid switch
    {
        Sha1 => "SHA-1",
        Sha256 => "SHA-256",
        Sha384 => "SHA-384",
        Sha512 => "SHA-512",
        _ => $"hash {oid}",
    };

    private static HashAlgorithmName EcdsaHash(string oid) => oid switch
    {
        EcdsaSha1 => HashAlgorithmName.SHA1,
        EcdsaSha256 => HashAlgorithmName.SHA256,
        EcdsaSha384 => HashAlgorithmName.SHA384,
        _ => HashAlgorithmName.SHA512,
    };

    private static string EcdsaName(string oid) => oid switch
    {
        EcdsaSha1 => "ecdsa-with-SHA1",
        EcdsaSha256 => "ecdsa-with-SHA256",
        EcdsaSha384 => "ecdsa-with-SHA384",
        _ => "ecdsa-with-SHA512",
    };

    private static HashAlgorithmName RsaHash(string oid) => oid switch
    {
        RsaSha1 => HashAlgorithmName.SHA1,
        RsaSha256 => HashAlgorithmName.SHA256,
        RsaSha384 => HashAlgorithmName.SHA384,
        _ => HashAlgorithmName.SHA512,
    };

    private static string RsaName(string oid) => oid switch
    {
        RsaSha1 => "sha1WithRSAEncryption",
        RsaSha256 => "sha256WithRSAEncryption",
        RsaSha384 => "sha384WithRSAEncryption",
        _ => "sha512WithRSAEncryption",
    };
}

/// <summary>How a <see cref="SignatureAlgorithm"/> is verified.</summary>
internal enum SignatureFamily
{
    /// <summary>Not verified here: the request is refused as <see cref="RejectionReason.UnsupportedAlgorithm"/>.</summary>
    Unsupported,

    /// <summary>ECDSA, DER Ecdsa-Sig-Value (RFC 3279 section 2.2.3).</summary>
    Ecdsa,

    /// <summary>RSASSA-PKCS1-v1_5 (RFC 8017 section 8.2).</summary>
    RsaPkcs1,

    /// <summary>RSASSA-PSS (RFC 8017 section 8.1) with MGF1 of the same hash and a salt as long as the hash.</summary>
    RsaPss,
}
