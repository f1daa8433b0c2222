using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Pkix;

namespace CoapEnroll.Cmp;

/// <summary>
/// The client side of central key generation (RFC 9483 §4.1.6): opens the EncryptedKey of a CertifiedKeyPair (envelopedData with
/// a PasswordRecipientInfo for a MAC-protected requester, a KeyAgreeRecipientInfo for an EC protection certificate, a
/// KeyTransRecipientInfo for an RSA one), checks the key generator's SignedData signature, that its certificate chains to the
/// trust anchors and that it is a CA or carries id-kp-cmKGA, and imports the one key of the AsymmetricKeyPackage.
/// </summary>
internal static class CmpCentralKey
{
    /// <exception cref="CmpException">Anything fails: the message says what.</exception>
    public static AsymmetricAlgorithm Open(ReadOnlyMemory<byte> encryptedKey, CmpClientOptions options)
    {
        byte[]? signed = null;
        byte[]? pkcs8 = null;
        try
        {
            byte[] enveloped = CmpKeyDelivery.EnvelopedDataOfEncryptedKey(encryptedKey);
            string contentType;
            if (options.SharedSecret is { } secret)
            {
                signed = CmsPasswordRecipient.Decrypt(enveloped, secret, out contentType);
            }
            else
            {
                X509Certificate2 certificate = options.Certificate!;
                byte[] contentInfo = ContentInfo(enveloped);
                if (certificate.GetRSAPrivateKey() is { } rsa)
                {
                    using (rsa)
                    {
                        signed = CmsKeyTransport.Decrypt(contentInfo, rsa, out contentType);
                    }
                }
                else
                {
                    using ECDsa ecdsa = certificate.GetECDsaPrivateKey() ?? throw new CryptographicException("the protection certificate's key is neither RSA nor EC");
                    using var ecdh = ECDiffieHellman.Create(ecdsa.ExportParameters(includePrivateParameters: true));
                    signed = CmsKeyAgreement.Decrypt(contentInfo, ecdh, certificate, out contentType);
                }
            }

            if (contentType != PkixOids.SignedData)
            {
                throw new CryptographicException($"the enveloped content is {contentType}, not SignedData");
            }

            var cms = new SignedCms();
            cms.Decode(signed);
            if (cms.ContentInfo.ContentType.Value != PkixOids.AsymmetricKeyPackage || cms.SignerInfos.Count != 1)
            {
                throw new CryptographicException("the SignedData is not one signature over an AsymmetricKeyPackage");
            }

            SignerInfo signer = cms.SignerInfos[0];
            signer.CheckSignature(verifySignatureOnly: true);
            X509Certificate2 generator = signer.Certificate ?? throw new CryptographicException("the SignedData does not carry the key generator's certificate");
            CheckChain(generator, cms.Certificates, options.TrustAnchors);
            CheckAuthorization(generator);

            pkcs8 = CmsAsymmetricKeyPackage.ReadSingleKey(cms.ContentInfo.Content);
            return Import(pkcs8);
        }
        catch (CryptographicException ex)
        {
            throw new CmpException($"the centrally generated key cannot be used: {ex.Message}", ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(signed);
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    private static void CheckChain(X509Certificate2 generator, X509Certificate2Collection extra, X509Certificate2Collection anchors)
    {
        if (anchors.Count == 0)
        {
            throw new CryptographicException($"no trust anchors to check the key generator '{generator.Subject}'");
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(anchors);
        chain.ChainPolicy.ExtraStore.AddRange(extra);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (!chain.Build(generator))
        {
            string why = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
            throw new CryptographicException($"the key generator '{generator.Subject}' does not chain to the trust anchors: {why}");
        }
    }

    // RFC 9810 §4.5: "CMP key generation authorities are CAs or are identified by the id-kp-cmKGA extended key usage". Any other
    // certificate under the same anchors (another device's, say) does not speak for the key it signed.
    private static void CheckAuthorization(X509Certificate2 generator)
    {
        if (!CertificateUsage.IsCertificateAuthority(generator) && !CertificateUsage.HasExtendedKeyUsage(generator, PkixOids.CmpKeyGenerationAuthority))
        {
            throw new CryptographicException(
                $"the key generator '{generator.Subject}' is neither a CA nor authorized as a key generation authority (no id-kp-cmKGA extended key usage)");
        }
    }

    private static AsymmetricAlgorithm Import(byte[] pkcs8)
    {
        string algorithm = Pkcs8PrivateKeyInfo.Decode(pkcs8, out _, skipCopy: true).AlgorithmId.Value!;
        if (algorithm == PkixOids.EcPublicKey)
        {
            var ec = ECDsa.Create();
            ec.ImportPkcs8PrivateKey(pkcs8, out _);
            return ec;
        }

        if (algorithm == PkixOids.RsaEncryption)
        {
            var rsa = RSA.Create();
            rsa.ImportPkcs8PrivateKey(pkcs8, out _);
            return rsa;
        }

        throw new CryptographicException($"the generated key's algorithm {algorithm} is neither EC nor RSA");
    }

    /// <summary>ContentInfo { envelopedData, [0] EXPLICIT EnvelopedData }: CMP carries the EnvelopedData bare.</summary>
    private static byte[] ContentInfo(byte[] envelopedData)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(PkixOids.EnvelopedData);
            CmpDer.WriteExplicitValue(writer, 0, envelopedData);
        }

        return writer.Encode();
    }
}
