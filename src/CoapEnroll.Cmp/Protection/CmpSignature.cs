using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Cmp;

/// <summary>Signature protection (RFC 9810 §5.1.3.3, RFC 9481 §3): ECDSA, RSASSA-PKCS1-v1_5 and RSASSA-PSS with SHA-2.</summary>
internal static class CmpSignature
{
    private static readonly byte[] DerNull = [0x05, 0x00];

    /// <summary>Verifies <paramref name="signature"/> over <paramref name="data"/> with the signer's public key as <paramref name="alg"/> says.</summary>
    public static bool Verify(CmpAlgorithmIdentifier alg, X509Certificate2 signer, byte[] data, byte[] signature)
    {
        switch (alg.Algorithm)
        {
            case CmpProtectionOids.EcdsaWithSha256:
            case CmpProtectionOids.EcdsaWithSha384:
            case CmpProtectionOids.EcdsaWithSha512:
            {
                // RFC 5758 §3.2: the parameters field MUST be absent.
                if (alg.Parameters is not null)
                {
                    throw Fail(CmpProtectionStatus.Malformed, $"{alg.Algorithm} has parameters; they must be absent");
                }

                using ECDsa key = signer.GetECDsaPublicKey() ?? throw KeyMismatch(alg);
                return key.VerifyData(data, signature, EcdsaHash(alg.Algorithm), DSASignatureFormat.Rfc3279DerSequence);
            }

            case CmpProtectionOids.Sha256WithRsa:
            case CmpProtectionOids.Sha384WithRsa:
            case CmpProtectionOids.Sha512WithRsa:
            {
                // RFC 4055 §5: NULL; absent tolerated.
                if (alg.Parameters is { } p && !p.Span.SequenceEqual(DerNull))
                {
                    throw Fail(CmpProtectionStatus.Malformed, $"{alg.Algorithm} parameters are neither NULL nor absent");
                }

                using RSA key = signer.GetRSAPublicKey() ?? throw KeyMismatch(alg);
                return key.VerifyData(data, signature, RsaHash(alg.Algorithm), RSASignaturePadding.Pkcs1);
            }

            case CmpProtectionOids.RsassaPss:
            {
                HashAlgorithmName hash = ReadPssParameters(alg.Parameters);
                using RSA key = signer.GetRSAPublicKey() ?? throw KeyMismatch(alg);
                return key.VerifyData(data, signature, hash, RSASignaturePadding.Pss);
            }

            case CmpProtectionOids.PasswordBasedMac:
            case CmpProtectionOids.Pbmac1:
                throw Fail(CmpProtectionStatus.UnsupportedAlgorithm, $"protectionAlg {alg.Algorithm} is a MAC, not a signature");

            default:
                throw Fail(CmpProtectionStatus.UnsupportedAlgorithm, $"signature algorithm {alg.Algorithm} is not supported");
        }
    }

    /// <summary>
    /// Signs with the certificate's private key: ECDSA with the hash matching the curve size, or RSA PKCS#1 v1.5 with SHA-256.
    /// <paramref name="dataFor"/> gets the chosen algorithm and returns the bytes to sign (the protected part names the algorithm).
    /// </summary>
    public static (CmpAlgorithmIdentifier Algorithm, byte[] Signature) Sign(X509Certificate2 certificate, Func<CmpAlgorithmIdentifier, byte[]> dataFor)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        // GetECDsaPrivateKey/GetRSAPrivateKey hand out a new object per call, owned by this call.
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey() ?? certificate.GetRSAPrivateKey()
            ?? throw new ArgumentException("the certificate has no ECDSA or RSA private key", nameof(certificate));
        return Sign(key, RSASignaturePadding.Pkcs1, dataFor);
    }

    /// <summary>
    /// Signs with <paramref name="key"/>, wherever its private half is (a file, or a PKCS#11 token behind an <see cref="ECDsa"/> or
    /// <see cref="RSA"/> that signs there): ECDSA with the hash matching the curve size, RSA with SHA-256 and
    /// <paramref name="rsaPadding"/> (sha256WithRSAEncryption, or RSASSA-PSS with MGF1-SHA-256 and a 32-octet salt, RFC 4055 §3.1).
    /// </summary>
    public static (CmpAlgorithmIdentifier Algorithm, byte[] Signature) Sign(AsymmetricAlgorithm key, RSASignaturePadding rsaPadding, Func<CmpAlgorithmIdentifier, byte[]> dataFor)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(rsaPadding);
        ArgumentNullException.ThrowIfNull(dataFor);
        switch (key)
        {
            case ECDsa ec:
            {
                (string oid, HashAlgorithmName hash) = ec.KeySize switch
                {
                    256 => (CmpProtectionOids.EcdsaWithSha256, HashAlgorithmName.SHA256),
                    384 => (CmpProtectionOids.EcdsaWithSha384, HashAlgorithmName.SHA384),
                    521 => (CmpProtectionOids.EcdsaWithSha512, HashAlgorithmName.SHA512),
                    _ => throw new ArgumentException($"an ECDSA key of {ec.KeySize} bits is not supported (P-256, P-384 or P-521 expected)", nameof(key)),
                };
                var alg = new CmpAlgorithmIdentifier { Algorithm = oid };
                return (alg, ec.SignData(dataFor(alg), hash, DSASignatureFormat.Rfc3279DerSequence));
            }

            case RSA rsa when rsaPadding == RSASignaturePadding.Pss:
            {
                var alg = new CmpAlgorithmIdentifier { Algorithm = CmpProtectionOids.RsassaPss, Parameters = PssSha256Parameters() };
                return (alg, rsa.SignData(dataFor(alg), HashAlgorithmName.SHA256, RSASignaturePadding.Pss));
            }

            case RSA rsa:
            {
                var alg = new CmpAlgorithmIdentifier { Algorithm = CmpProtectionOids.Sha256WithRsa, Parameters = DerNull };
                return (alg, rsa.SignData(dataFor(alg), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
            }

            default:
                throw new ArgumentException($"a {key.GetType().Name} key cannot sign CMP messages (ECDSA or RSA expected)", nameof(key));
        }
    }

    /// <summary>RSASSA-PSS-params with SHA-256, MGF1-SHA-256, saltLength 32 (trailerField left at its default 1): RFC 4055 §3.1.</summary>
    private static byte[] PssSha256Parameters()
    {
        var writer = new AsnWriter(CmpDer.Rules);
        using (writer.PushSequence())
        {
            using (writer.PushSequence(CmpDer.Ctx(0)))
            {
                WriteHashAlgorithm(writer);
            }

            using (writer.PushSequence(CmpDer.Ctx(1)))
            {
                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(CmpProtectionOids.Mgf1);
                    WriteHashAlgorithm(writer);
                }
            }

            using (writer.PushSequence(CmpDer.Ctx(2)))
            {
                writer.WriteInteger(CmpProtectionOids.HashLength(HashAlgorithmName.SHA256));
            }
        }

        return writer.Encode();

        static void WriteHashAlgorithm(AsnWriter writer)
        {
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(CmpProtectionOids.Sha256);
                writer.WriteNull();
            }
        }
    }

    /// <summary>RSASSA-PSS-params (RFC 4055 §3.1): hash SHA-256/384/512, MGF1 with the same hash, saltLength the hash length, trailerField 1.</summary>
    private static HashAlgorithmName ReadPssParameters(ReadOnlyMemory<byte>? parameters)
    {
        if (parameters is not { } der)
        {
            throw Fail(CmpProtectionStatus.UnsupportedAlgorithm, "RSASSA-PSS without parameters means SHA-1, which is not supported");
        }

        var reader = new AsnReader(der, CmpDer.Rules);
        AsnReader seq = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        if (!CmpDer.PeekIsContext(seq, 0))
        {
            throw Fail(CmpProtectionStatus.UnsupportedAlgorithm, "RSASSA-PSS hashAlgorithm is the default SHA-1");
        }

        AsnReader hashWrapper = seq.ReadSequence(CmpDer.Ctx(0));
        HashAlgorithmName hash = PssHash(CmpAlgorithmIdentifier.Read(hashWrapper), "hashAlgorithm");
        hashWrapper.ThrowIfNotEmpty();
        if (!CmpDer.PeekIsContext(seq, 1))
        {
            throw Fail(CmpProtectionStatus.UnsupportedAlgorithm, "RSASSA-PSS maskGenAlgorithm is the default MGF1 with SHA-1");
        }

        AsnReader mgfWrapper = seq.ReadSequence(CmpDer.Ctx(1));
        CmpAlgorithmIdentifier mgf = CmpAlgorithmIdentifier.Read(mgfWrapper);
        mgfWrapper.ThrowIfNotEmpty();
        if (mgf.Algorithm != CmpProtectionOids.Mgf1)
        {
            throw Fail(CmpProtectionStatus.UnsupportedAlgorithm, $"RSASSA-PSS maskGenAlgorithm {mgf.Algorithm} is not MGF1");
        }

        if (mgf.Parameters is not { } mgfParameters)
        {
            throw Fail(CmpProtectionStatus.Malformed, "MGF1 has no hash parameter");
        }

        var mgfReader = new AsnReader(mgfParameters, CmpDer.Rules);
        HashAlgorithmName mgfHash = PssHash(CmpAlgorithmIdentifier.Read(mgfReader), "MGF1 hash");
        mgfReader.ThrowIfNotEmpty();
        if (mgfHash != hash)
        {
            throw Fail(CmpProtectionStatus.UnsupportedAlgorithm, $"MGF1 hash {mgfHash.Name} differs from the PSS hash {hash.Name}");
        }

        int saltLength = 20;
        if (CmpDer.PeekIsContext(seq, 2))
        {
            AsnReader w = seq.ReadSequence(CmpDer.Ctx(2));
            saltLength = w.TryReadInt32(out int s) ? s : -1;
            if (saltLength < 0)
            {
                throw Fail(CmpProtectionStatus.Malformed, "RSASSA-PSS saltLength is not a small non-negative INTEGER");
            }

            w.ThrowIfNotEmpty();
        }

        if (saltLength != CmpProtectionOids.HashLength(hash))
        {
            throw Fail(CmpProtectionStatus.UnsupportedAlgorithm, $"RSASSA-PSS saltLength {saltLength} is not the hash length {CmpProtectionOids.HashLength(hash)}");
        }

        if (CmpDer.PeekIsContext(seq, 3))
        {
            AsnReader w = seq.ReadSequence(CmpDer.Ctx(3));
            if (!w.TryReadInt32(out int trailer) || trailer != 1)
            {
                throw Fail(CmpProtectionStatus.UnsupportedAlgorithm, "RSASSA-PSS trailerField is not 1");
            }

            w.ThrowIfNotEmpty();
        }

        seq.ThrowIfNotEmpty();
        return hash;
    }

    private static HashAlgorithmName PssHash(CmpAlgorithmIdentifier alg, string what)
    {
        if (alg.Parameters is { } p && !p.Span.SequenceEqual(DerNull))
        {
            throw Fail(CmpProtectionStatus.Malformed, $"RSASSA-PSS {what} parameters are neither NULL nor absent");
        }

        HashAlgorithmName? hash = CmpProtectionOids.Hash(alg.Algorithm);
        if (hash is not { } h || h == HashAlgorithmName.SHA1)
        {
            throw Fail(CmpProtectionStatus.UnsupportedAlgorithm, $"RSASSA-PSS {what} {alg.Algorithm} is not SHA-256, SHA-384 or SHA-512");
        }

        return h;
    }

    private static HashAlgorithmName EcdsaHash(string oid) => oid switch
    {
        CmpProtectionOids.EcdsaWithSha256 => HashAlgorithmName.SHA256,
        CmpProtectionOids.EcdsaWithSha384 => HashAlgorithmName.SHA384,
        _ => HashAlgorithmName.SHA512,
    };

    private static HashAlgorithmName RsaHash(string oid) => oid switch
    {
        CmpProtectionOids.Sha256WithRsa => HashAlgorithmName.SHA256,
        CmpProtectionOids.Sha384WithRsa => HashAlgorithmName.SHA384,
        _ => HashAlgorithmName.SHA512,
    };

    private static CmpProtectionException KeyMismatch(CmpAlgorithmIdentifier alg) =>
        Fail(CmpProtectionStatus.Invalid, $"the signer certificate's key does not fit {alg.Algorithm}");

    private static CmpProtectionException Fail(CmpProtectionStatus status, string detail) => new(status, detail);
}
