using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Pkix;

namespace CoapEnroll.Est;

/// <summary>
/// application/pkcs7-mime; smime-type=server-generated-key (Content-Format 280, RFC 9148 §4.8, RFC 7030 §4.4.2): the key as an
/// AsymmetricKeyPackage (RFC 5958 §2) inside a SignedData signed by the key generator (<see cref="CmsAsymmetricKeyPackage"/>),
/// inside an EnvelopedData for the client's key: KeyTransRecipientInfo for RSA keys (<see cref="CmsKeyTransport"/>),
/// KeyAgreeRecipientInfo for EC keys (<see cref="CmsKeyAgreement"/>), KEKRecipientInfo for a shared symmetric key
/// (<see cref="CmsKeyEncryptionKey"/>). What is EST's own lives here: choosing the algorithms from the CSR's SMIMECapabilities
/// and which signers the client accepts.
/// </summary>
internal static class ServerGeneratedKeyEnvelope
{
    /// <summary>
    /// Encrypts <paramref name="pkcs8"/> for <paramref name="recipient"/>, signed by <paramref name="signer"/> with
    /// <paramref name="signerIntermediates"/> included; throws <see cref="ArgumentException"/> when the request cannot be satisfied.
    /// </summary>
    public static byte[] Protect(byte[] pkcs8, X509Certificate2 recipient, X509Certificate2 signer, IEnumerable<X509Certificate2> signerIntermediates,
        IReadOnlyList<SmimeCapability> capabilities)
    {
        using RSA? rsa = recipient.GetRSAPublicKey();
        // PublicKey's accessor, not the certificate's: the latter hides the key when the key usage does not fit, which is checked below.
        using ECDiffieHellman? ec = rsa is null && recipient.GetKeyAlgorithm() == EstOids.EcPublicKey ? recipient.PublicKey.GetECDiffieHellmanPublicKey() : null;
        if (rsa is null && ec is null)
        {
            throw new ArgumentException($"the recipient key ({recipient.PublicKey.Oid.FriendlyName ?? recipient.PublicKey.Oid.Value}) is neither RSA nor elliptic-curve");
        }

        // RFC 7030 §4.4.1.2: the key "MUST either explicitly support keyTransport or keyAgreement or its use MUST be unrestricted".
        X509KeyUsageFlags needed = rsa is not null ? X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.KeyAgreement;
        if (recipient.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault() is { } usage && (usage.KeyUsages & needed) == 0)
        {
            throw new ArgumentException($"the recipient certificate's key usage does not allow {(rsa is not null ? "keyEncipherment" : "keyAgreement")}");
        }

        // Settle the algorithms before anything is signed, so an unusable request fails cheaply.
        CmsKeyAgreementAlgorithms? agreement = ec is not null ? ChooseKeyAgreement(capabilities, ec.KeySize) : null;
        RSAEncryptionPadding? padding = null;
        string? contentAlgorithm = null;
        if (rsa is not null)
        {
            foreach (SmimeCapability capability in capabilities)
            {
                padding ??= capability.Oid switch
                {
                    EstOids.RsaesOaep => OaepPadding(capability),
                    EstOids.RsaEncryption => RSAEncryptionPadding.Pkcs1,
                    _ => null,
                };
                contentAlgorithm ??= CmsEnvelopedData.ContentKeyLength(capability.Oid) > 0 ? capability.Oid : null;
            }

            if (padding is null)
            {
                throw new ArgumentException("SMIMECapabilities lists no supported key transport algorithm (rsaEncryption or id-RSAES-OAEP)");
            }
        }

        byte[] signed = CmsAsymmetricKeyPackage.Sign(pkcs8, signer, signerIntermediates);
        try
        {
            if (agreement is { } algorithms)
            {
                return CmsKeyAgreement.Encrypt(signed, PkixOids.SignedData, recipient, algorithms);
            }

            return CmsKeyTransport.Encrypt(signed, PkixOids.SignedData, recipient, padding!, contentAlgorithm ?? EstOids.Aes256Cbc);
        }
        finally
        {
            // The SignedData holds the private key in the clear.
            CryptographicOperations.ZeroMemory(signed);
        }
    }

    /// <summary>
    /// Picks the key agreement scheme, key wrap and content encryption from <paramref name="capabilities"/> (client preference
    /// order, RFC 8551 §2.5.2). A scheme capability may carry its KeyWrapAlgorithm as parameters (RFC 5753 §5); otherwise the
    /// first listed AES key wrap is used, or one as strong as the content-encryption key. A list naming only a key wrap gets the
    /// scheme whose KDF hash matches the curve (SHA-256 for P-256, RFC 5753 §8). Throws <see cref="ArgumentException"/> when
    /// nothing usable is listed.
    /// </summary>
    public static CmsKeyAgreementAlgorithms ChooseKeyAgreement(IReadOnlyList<SmimeCapability> capabilities, int curveBits)
    {
        string? scheme = null;
        string? schemeWrap = null;
        string? wrap = null;
        string? content = null;
        foreach (SmimeCapability capability in capabilities)
        {
            if (scheme is null && CmsKeyAgreement.IsSupportedKeyAgreement(capability.Oid) && SchemeWrap(capability) is var listedWrap && listedWrap != "")
            {
                scheme = capability.Oid;
                schemeWrap = listedWrap;
            }

            wrap ??= CmsKeyAgreement.WrapKeyLength(capability.Oid) > 0 ? capability.Oid : null;
            content ??= CmsEnvelopedData.ContentKeyLength(capability.Oid) > 0 ? capability.Oid : null;
        }

        if (scheme is null && wrap is null)
        {
            throw new ArgumentException("SMIMECapabilities lists no supported key agreement algorithm (dhSinglePass-stdDH-sha*kdf-scheme or an AES key wrap)");
        }

        content ??= EstOids.Aes256Cbc;
        scheme ??= curveBits switch
        {
            <= 256 => EstOids.EcdhStdSha256Kdf,
            <= 384 => EstOids.EcdhStdSha384Kdf,
            _ => EstOids.EcdhStdSha512Kdf,
        };

        // Without a listed wrap, one as strong as the content-encryption key it carries.
        wrap = schemeWrap ?? wrap ?? (content == EstOids.Aes128Cbc ? EstOids.Aes128Wrap : EstOids.Aes256Wrap);
        return new CmsKeyAgreementAlgorithms(scheme, wrap, content);
    }

    // The wrap a scheme capability names in its parameters; null when it names none, "" when it names one we lack.
    private static string? SchemeWrap(SmimeCapability capability)
    {
        if (!capability.HasParameters)
        {
            return null;
        }

        try
        {
            var reader = new AsnReader(capability.Parameters, AsnEncodingRules.DER);
            AsnReader algorithm = reader.ReadSequence();
            string oid = algorithm.ReadObjectIdentifier();
            return CmsKeyAgreement.WrapKeyLength(oid) > 0 ? oid : "";
        }
        catch (AsnContentException)
        {
            return "";
        }
    }

    /// <summary>The RSAES-OAEP-params of a capability (RFC 4055 §4.1: absent means SHA-1 with MGF1-SHA-1); null when unsupported.</summary>
    internal static RSAEncryptionPadding? OaepPadding(SmimeCapability capability)
    {
        if (!capability.HasParameters)
        {
            return RSAEncryptionPadding.OaepSHA1;
        }

        try
        {
            var reader = new AsnReader(capability.Parameters, AsnEncodingRules.DER);
            AsnReader parameters = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            string hash = EstOids.Sha1;
            string mgfHash = EstOids.Sha1;
            if (parameters.HasData && parameters.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
            {
                AsnReader explicitHash = parameters.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true));
                hash = explicitHash.ReadSequence().ReadObjectIdentifier();
            }

            if (parameters.HasData && parameters.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true)))
            {
                AsnReader explicitMgf = parameters.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true));
                AsnReader mgf = explicitMgf.ReadSequence();
                if (mgf.ReadObjectIdentifier() != EstOids.Mgf1)
                {
                    return null;
                }

                mgfHash = mgf.ReadSequence().ReadObjectIdentifier();
            }

            // pSourceAlgorithm [2] other than the empty default label is not supported by the platform.
            if (parameters.HasData || hash != mgfHash)
            {
                return null;
            }

            return hash switch
            {
                EstOids.Sha1 => RSAEncryptionPadding.OaepSHA1,
                EstOids.Sha256 => RSAEncryptionPadding.OaepSHA256,
                EstOids.Sha384 => RSAEncryptionPadding.OaepSHA384,
                EstOids.Sha512 => RSAEncryptionPadding.OaepSHA512,
                _ => null,
            };
        }
        catch (AsnContentException)
        {
            return null;
        }
    }

    /// <summary>RSAES-OAEP-params for SHA-256 with MGF1-SHA-256 (RFC 4055 §4.1), as our client offers them.</summary>
    internal static byte[] OaepSha256Parameters()
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(EstOids.Sha256);
            }

            using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true)))
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(EstOids.Mgf1);
                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(EstOids.Sha256);
                }
            }
        }

        return writer.Encode();
    }

    /// <summary>
    /// Checks that a symmetric key of <paramref name="kekLength"/> octets can serve a client offering <paramref name="capabilities"/>
    /// (RFC 7030 §4.4.2: the key wrap must be one the client listed) and returns the content encryption to use.
    /// </summary>
    public static string ChooseForKeyEncryptionKey(int kekLength, IReadOnlyList<SmimeCapability> capabilities)
    {
        string wrap = CmsKeyEncryptionKey.WrapFor(kekLength);
        if (!capabilities.Any(c => c.Oid == wrap))
        {
            throw new ArgumentException($"SMIMECapabilities does not list {wrap}, the AES key wrap for the {kekLength * 8}-bit key named by DecryptKeyIdentifier");
        }

        return capabilities.Select(c => c.Oid).FirstOrDefault(c => CmsEnvelopedData.ContentKeyLength(c) > 0) ?? EstOids.Aes256Cbc;
    }

    /// <summary>Encrypts <paramref name="pkcs8"/> under the shared key <paramref name="kek"/> named <paramref name="keyIdentifier"/> (KEKRecipientInfo).</summary>
    public static byte[] Protect(byte[] pkcs8, ReadOnlySpan<byte> keyIdentifier, ReadOnlySpan<byte> kek, X509Certificate2 signer,
        IEnumerable<X509Certificate2> signerIntermediates, IReadOnlyList<SmimeCapability> capabilities)
    {
        string contentAlgorithm = ChooseForKeyEncryptionKey(kek.Length, capabilities);
        byte[] signed = CmsAsymmetricKeyPackage.Sign(pkcs8, signer, signerIntermediates);
        try
        {
            return CmsKeyEncryptionKey.Encrypt(signed, PkixOids.SignedData, keyIdentifier, kek, contentAlgorithm);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(signed);
        }
    }

    /// <summary>Client side of <see cref="Protect(byte[], ReadOnlySpan{byte}, ReadOnlySpan{byte}, X509Certificate2, IEnumerable{X509Certificate2}, IReadOnlyList{SmimeCapability})"/>.</summary>
    public static byte[] Open(ReadOnlySpan<byte> der, ReadOnlySpan<byte> keyIdentifier, ReadOnlySpan<byte> kek, IEnumerable<X509Certificate2> trustAnchors,
        IEnumerable<X509Certificate2> intermediates, IReadOnlyCollection<X509Certificate2> acceptedSigners, DateTimeOffset now)
    {
        byte[] content = CmsKeyEncryptionKey.Decrypt(der, keyIdentifier, kek, out string contentType);
        return VerifyPackage(content, contentType, trustAnchors, intermediates, acceptedSigners, now);
    }

    /// <summary>
    /// Client side: decrypts with <paramref name="key"/> (RSA, or an EC key as <see cref="ECDiffieHellman"/> or <see cref="ECDsa"/>)
    /// of <paramref name="recipient"/>, checks the SignedData signature, that its signer is one of <paramref name="acceptedSigners"/>
    /// and chains to <paramref name="trustAnchors"/> (with <paramref name="intermediates"/>), and returns the PKCS#8 key.
    /// </summary>
    public static byte[] Open(ReadOnlySpan<byte> der, AsymmetricAlgorithm key, X509Certificate2 recipient, IEnumerable<X509Certificate2> trustAnchors,
        IEnumerable<X509Certificate2> intermediates, IReadOnlyCollection<X509Certificate2> acceptedSigners, DateTimeOffset now)
    {
        byte[] content;
        string contentType;
        switch (key)
        {
            case RSA rsa:
                content = CmsKeyTransport.Decrypt(der, rsa, out contentType);
                break;
            case ECDiffieHellman ecdh:
                content = CmsKeyAgreement.Decrypt(der, ecdh, recipient, out contentType);
                break;
            case ECDsa ecdsa:
                ECParameters parameters = ecdsa.ExportParameters(includePrivateParameters: true);
                try
                {
                    using ECDiffieHellman converted = ECDiffieHellman.Create(parameters);
                    content = CmsKeyAgreement.Decrypt(der, converted, recipient, out contentType);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(parameters.D);
                }

                break;
            default:
                throw new ArgumentException($"a {key.GetType().Name} cannot decrypt a server-generated key; use RSA or an EC key", nameof(key));
        }

        return VerifyPackage(content, contentType, trustAnchors, intermediates, acceptedSigners, now);
    }

    // RFC 7030 §4.4.2: "signed by the party that generated the private key". The envelope itself proves nothing about its
    // origin (anyone can encrypt to the client's key), so the signer must be a party the client expects, not merely any
    // holder of a certificate from the EST CA (every device has one).
    private static byte[] VerifyPackage(byte[] content, string contentType, IEnumerable<X509Certificate2> trustAnchors, IEnumerable<X509Certificate2> intermediates,
        IReadOnlyCollection<X509Certificate2> acceptedSigners, DateTimeOffset now)
    {
        try
        {
            return VerifyPackageCore(content, contentType, trustAnchors, intermediates, acceptedSigners, now);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(content);
        }
    }

    private static byte[] VerifyPackageCore(byte[] content, string contentType, IEnumerable<X509Certificate2> trustAnchors, IEnumerable<X509Certificate2> intermediates,
        IReadOnlyCollection<X509Certificate2> acceptedSigners, DateTimeOffset now)
    {
        if (contentType != PkixOids.SignedData)
        {
            throw new CryptographicException("the EnvelopedData does not carry a SignedData (RFC 7030 section 4.4.2)");
        }

        var signed = new SignedCms();
        signed.Decode(content);
        if (signed.ContentInfo.ContentType.Value != EstOids.AsymmetricKeyPackage || signed.SignerInfos.Count != 1)
        {
            throw new CryptographicException("the SignedData is not a singly signed AsymmetricKeyPackage (RFC 5958 §2)");
        }

        signed.CheckSignature(verifySignatureOnly: true);
        X509Certificate2 signer = signed.SignerInfos[0].Certificate ?? throw new CryptographicException("the key generator's certificate is missing");
        if (!acceptedSigners.Any(accepted => accepted.RawData.AsSpan().SequenceEqual(signer.RawData)))
        {
            throw new CryptographicException($"the key was signed by '{signer.Subject}', which is neither the EST server's certificate nor a configured key generator");
        }

        if (signer.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault() is { } usage && (usage.KeyUsages & X509KeyUsageFlags.DigitalSignature) == 0)
        {
            throw new CryptographicException("the key generator's certificate does not allow digitalSignature");
        }

        using (X509Chain chain = new CertificateChainBuilder(trustAnchors).CreateChain([.. intermediates, .. signed.Certificates], now))
        {
            if (!chain.Build(signer))
            {
                throw new CryptographicException("the key generator's certificate does not chain to the EST trust anchors");
            }
        }

        return CmsAsymmetricKeyPackage.ReadSingleKey(signed.ContentInfo.Content);
    }
}
