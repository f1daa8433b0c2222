using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Est;

/// <summary>
/// application/pkcs7-mime; smime-type=server-generated-key (Content-Format 280, RFC 9148 §4.8, RFC 7030 §4.4.2): the key as an
/// AsymmetricKeyPackage (RFC 5958 §2) inside a SignedData signed by the key generator, inside an EnvelopedData for the
/// client's key. Only key transport recipients (KeyTransRecipientInfo, RSA) are supported: .NET's <see cref="EnvelopedCms"/>
/// has no KeyAgreeRecipientInfo for EC keys ("Unknown algorithm '1.2.840.10045.2.1'"), and no KEK lookup for
/// DecryptKeyIdentifier exists here.
/// </summary>
internal static class ServerGeneratedKeyEnvelope
{
    /// <summary>Encrypts <paramref name="pkcs8"/> for <paramref name="recipient"/>; throws <see cref="NotSupportedException"/> for EC recipients and <see cref="ArgumentException"/> when the request cannot be satisfied.</summary>
    public static byte[] Protect(byte[] pkcs8, X509Certificate2 recipient, X509Certificate2 signer, IReadOnlyList<string> capabilities)
    {
        using RSA? rsa = recipient.GetRSAPublicKey();
        if (rsa is null)
        {
            throw new NotSupportedException($"the recipient key ({recipient.PublicKey.Oid.FriendlyName ?? recipient.PublicKey.Oid.Value}) needs KeyAgreeRecipientInfo, which this server cannot produce; use an RSA key transport key");
        }

        if (recipient.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault() is { } usage && (usage.KeyUsages & X509KeyUsageFlags.KeyEncipherment) == 0)
        {
            // RFC 7030 §4.4.1.2: the key "MUST either explicitly support keyTransport or keyAgreement or its use MUST be unrestricted".
            throw new ArgumentException("the recipient certificate's key usage does not allow keyEncipherment");
        }

        RSAEncryptionPadding? padding = null;
        string? contentAlgorithm = null;
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

        // AsymmetricKeyPackage ::= SEQUENCE SIZE (1..MAX) OF OneAsymmetricKey; a PKCS#8 PrivateKeyInfo is a version-1 OneAsymmetricKey.
        var package = new AsnWriter(AsnEncodingRules.DER);
        using (package.PushSequence())
        {
            package.WriteEncodedValue(pkcs8);
        }

        var signed = new SignedCms(new ContentInfo(new Oid(EstOids.AsymmetricKeyPackage), package.Encode()), detached: false);
        var cmsSigner = new CmsSigner(SubjectIdentifierType.IssuerAndSerialNumber, signer) { IncludeOption = X509IncludeOption.EndCertOnly };
        signed.ComputeSignature(cmsSigner, silent: true);

        var enveloped = new EnvelopedCms(new ContentInfo(new Oid(Pkcs7CertsOnly.SignedDataOid), signed.Encode()),
            new AlgorithmIdentifier(new Oid(contentAlgorithm ?? EstOids.Aes256Cbc)));
        SubjectIdentifierType rid = recipient.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Any()
            ? SubjectIdentifierType.SubjectKeyIdentifier
            : SubjectIdentifierType.IssuerAndSerialNumber;
        enveloped.Encrypt(new CmsRecipient(rid, recipient, padding));
        return enveloped.Encode();
    }

    /// <summary>
    /// Client side: decrypts with <paramref name="key"/>, checks the SignedData signature and that its signer chains to
    /// <paramref name="trustAnchors"/> (with <paramref name="intermediates"/>), and returns the PKCS#8 key.
    /// </summary>
    public static byte[] Open(ReadOnlySpan<byte> der, RSA key, IEnumerable<X509Certificate2> trustAnchors, IEnumerable<X509Certificate2> intermediates, DateTimeOffset now)
    {
        var enveloped = new EnvelopedCms();
        enveloped.Decode(der);
        if (enveloped.RecipientInfos.Count != 1)
        {
            throw new CryptographicException($"expected one recipient, found {enveloped.RecipientInfos.Count}");
        }

        enveloped.Decrypt(enveloped.RecipientInfos[0], key);
        if (enveloped.ContentInfo.ContentType.Value != Pkcs7CertsOnly.SignedDataOid)
        {
            throw new CryptographicException("the EnvelopedData does not carry a SignedData (RFC 7030 §4.4.2)");
        }

        var signed = new SignedCms();
        signed.Decode(enveloped.ContentInfo.Content);
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
