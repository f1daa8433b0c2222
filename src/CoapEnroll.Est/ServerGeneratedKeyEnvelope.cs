using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Est;

/// <summary>
/// application/pkcs7-mime; smime-type=server-generated-key (Content-Format 280, RFC 9148 §4.8, RFC 7030 §4.4.2): the key as an
/// AsymmetricKeyPackage (RFC 5958 §2) inside a SignedData signed by the key generator, inside an EnvelopedData for the
/// client's key: KeyTransRecipientInfo for RSA keys (through <see cref="EnvelopedCms"/>), KeyAgreeRecipientInfo for EC keys
/// (<see cref="CmsKeyAgreement"/>), KEKRecipientInfo for a shared symmetric key (<see cref="CmsKeyEncryptionKey"/>); EnvelopedCms
/// has neither of the last two.
/// </summary>
internal static class ServerGeneratedKeyEnvelope
{
    /// <summary>
    /// Encrypts <paramref name="pkcs8"/> for <paramref name="recipient"/>, signed by <paramref name="signer"/> with
    /// <paramref name="signerIntermediates"/> included; throws <see cref="ArgumentException"/> when the request cannot be satisfied.
    /// </summary>
    public static byte[] Protect(byte[] pkcs8, X509Certificate2 recipient, X509Certificate2 signer, IEnumerable<X509Certificate2> signerIntermediates,
        IReadOnlyList<string> capabilities)
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
        CmsKeyAgreement.Algorithms? agreement = ec is not null ? CmsKeyAgreement.Choose(capabilities, ec.KeySize) : null;
        RSAEncryptionPadding? padding = null;
        string? contentAlgorithm = null;
        if (rsa is not null)
        {
            foreach (string capability in capabilities)
            {
                padding ??= capability switch
                {
                    EstOids.RsaesOaep => RSAEncryptionPadding.OaepSHA256,
                    EstOids.RsaEncryption => RSAEncryptionPadding.Pkcs1,
                    _ => null,
                };
                contentAlgorithm ??= capability is EstOids.Aes256Cbc or EstOids.Aes128Cbc ? capability : null;
            }

            if (padding is null)
            {
                throw new ArgumentException("SMIMECapabilities lists no supported key transport algorithm (rsaEncryption or id-RSAES-OAEP)");
            }
        }

        byte[] signed = Sign(pkcs8, signer, signerIntermediates);
        if (agreement is { } algorithms)
        {
            return CmsKeyAgreement.Encrypt(signed, Pkcs7CertsOnly.SignedDataOid, recipient, algorithms);
        }

        var enveloped = new EnvelopedCms(new ContentInfo(new Oid(Pkcs7CertsOnly.SignedDataOid), signed),
            new AlgorithmIdentifier(new Oid(contentAlgorithm ?? EstOids.Aes256Cbc)));
        SubjectIdentifierType rid = recipient.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Any()
            ? SubjectIdentifierType.SubjectKeyIdentifier
            : SubjectIdentifierType.IssuerAndSerialNumber;
        enveloped.Encrypt(new CmsRecipient(rid, recipient, padding!));
        return enveloped.Encode();
    }

    /// <summary>
    /// Checks that a symmetric key of <paramref name="kekLength"/> octets can serve a client offering <paramref name="capabilities"/>
    /// (RFC 7030 §4.4.2: the key wrap must be one the client listed) and returns the content encryption to use.
    /// </summary>
    public static string ChooseForKeyEncryptionKey(int kekLength, IReadOnlyList<string> capabilities)
    {
        string wrap = CmsKeyEncryptionKey.WrapFor(kekLength);
        if (!capabilities.Contains(wrap))
        {
            throw new ArgumentException($"SMIMECapabilities does not list {wrap}, the AES key wrap for the {kekLength * 8}-bit key named by DecryptKeyIdentifier");
        }

        return capabilities.FirstOrDefault(c => CmsEnvelopedData.ContentKeyLength(c) > 0) ?? EstOids.Aes256Cbc;
    }

    /// <summary>Encrypts <paramref name="pkcs8"/> under the shared key <paramref name="kek"/> named <paramref name="keyIdentifier"/> (KEKRecipientInfo).</summary>
    public static byte[] Protect(byte[] pkcs8, ReadOnlySpan<byte> keyIdentifier, ReadOnlySpan<byte> kek, X509Certificate2 signer,
        IEnumerable<X509Certificate2> signerIntermediates, IReadOnlyList<string> capabilities)
    {
        string contentAlgorithm = ChooseForKeyEncryptionKey(kek.Length, capabilities);
        return CmsKeyEncryptionKey.Encrypt(Sign(pkcs8, signer, signerIntermediates), Pkcs7CertsOnly.SignedDataOid, keyIdentifier, kek, contentAlgorithm);
    }

    /// <summary>Client side of <see cref="Protect(byte[], ReadOnlySpan{byte}, ReadOnlySpan{byte}, X509Certificate2, IEnumerable{X509Certificate2}, IReadOnlyList{string})"/>.</summary>
    public static byte[] Open(ReadOnlySpan<byte> der, ReadOnlySpan<byte> keyIdentifier, ReadOnlySpan<byte> kek, IEnumerable<X509Certificate2> trustAnchors,
        IEnumerable<X509Certificate2> intermediates, DateTimeOffset now)
    {
        byte[] content = CmsKeyEncryptionKey.Decrypt(der, keyIdentifier, kek, out string contentType);
        return VerifyPackage(content, contentType, trustAnchors, intermediates, now);
    }

    /// <summary>
    /// Client side: decrypts with <paramref name="key"/> (RSA, or an EC key as <see cref="ECDiffieHellman"/> or <see cref="ECDsa"/>)
    /// of <paramref name="recipient"/>, checks the SignedData signature and that its signer chains to
    /// <paramref name="trustAnchors"/> (with <paramref name="intermediates"/>), and returns the PKCS#8 key.
    /// </summary>
    public static byte[] Open(ReadOnlySpan<byte> der, AsymmetricAlgorithm key, X509Certificate2 recipient, IEnumerable<X509Certificate2> trustAnchors,
        IEnumerable<X509Certificate2> intermediates, DateTimeOffset now)
    {
        byte[] content;
        string contentType;
        switch (key)
        {
            case RSA rsa:
                var enveloped = new EnvelopedCms();
                enveloped.Decode(der);
                if (enveloped.RecipientInfos.Count != 1)
                {
                    throw new CryptographicException($"expected one recipient, found {enveloped.RecipientInfos.Count}");
                }

                enveloped.Decrypt(enveloped.RecipientInfos[0], rsa);
                content = enveloped.ContentInfo.Content;
                contentType = enveloped.ContentInfo.ContentType.Value ?? "";
                break;
            case ECDiffieHellman ecdh:
                content = CmsKeyAgreement.Decrypt(der, ecdh, recipient, out contentType);
                break;
            case ECDsa ecdsa:
                using (ECDiffieHellman converted = ECDiffieHellman.Create(ecdsa.ExportParameters(includePrivateParameters: true)))
                {
                    content = CmsKeyAgreement.Decrypt(der, converted, recipient, out contentType);
                }

                break;
            default:
                throw new ArgumentException($"a {key.GetType().Name} cannot decrypt a server-generated key; use RSA or an EC key", nameof(key));
        }

        return VerifyPackage(content, contentType, trustAnchors, intermediates, now);
    }

    // AsymmetricKeyPackage ::= SEQUENCE SIZE (1..MAX) OF OneAsymmetricKey; a PKCS#8 PrivateKeyInfo is a version-1 OneAsymmetricKey.
    private static byte[] Sign(byte[] pkcs8, X509Certificate2 signer, IEnumerable<X509Certificate2> signerIntermediates)
    {
        var package = new AsnWriter(AsnEncodingRules.DER);
        using (package.PushSequence())
        {
            package.WriteEncodedValue(pkcs8);
        }

        var signed = new SignedCms(new ContentInfo(new Oid(EstOids.AsymmetricKeyPackage), package.Encode()), detached: false);
        var cmsSigner = new CmsSigner(SubjectIdentifierType.IssuerAndSerialNumber, signer) { IncludeOption = X509IncludeOption.EndCertOnly };
        cmsSigner.Certificates.AddRange(signerIntermediates.ToArray());
        signed.ComputeSignature(cmsSigner, silent: true);
        return signed.Encode();
    }

    private static byte[] VerifyPackage(byte[] content, string contentType, IEnumerable<X509Certificate2> trustAnchors, IEnumerable<X509Certificate2> intermediates,
        DateTimeOffset now)
    {
        if (contentType != Pkcs7CertsOnly.SignedDataOid)
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
        using (var chain = new X509Chain())
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(trustAnchors.ToArray());
            chain.ChainPolicy.ExtraStore.AddRange(intermediates.ToArray());
            chain.ChainPolicy.ExtraStore.AddRange(signed.Certificates);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.VerificationTime = now.UtcDateTime;
            chain.ChainPolicy.VerificationTimeIgnored = false;
            if (!chain.Build(signer))
            {
                throw new CryptographicException("the key generator's certificate does not chain to the EST trust anchors");
            }
        }

        var reader = new AsnReader(signed.ContentInfo.Content, AsnEncodingRules.DER);
        AsnReader keys = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        byte[] first = keys.ReadEncodedValue().ToArray();
        if (keys.HasData)
        {
            throw new CryptographicException("the AsymmetricKeyPackage carries more than one key");
        }

        return first;
    }
}
