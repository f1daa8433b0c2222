using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Pkix;

/// <summary>
/// CMS EnvelopedData for an RSA recipient (RFC 5652 §6.2.1 KeyTransRecipientInfo; RSAES-PKCS1-v1_5 or RSAES-OAEP, RFC 3560),
/// through the platform's <see cref="EnvelopedCms"/>.
/// </summary>
public static class CmsKeyTransport
{
    /// <summary>
    /// Encrypts <paramref name="content"/> of type <paramref name="contentType"/> with <paramref name="contentAlgorithm"/> for
    /// <paramref name="recipient"/>'s RSA key with <paramref name="padding"/>; returns a DER ContentInfo. The recipient is named by
    /// its subject key identifier when it has one, otherwise by issuer and serial number.
    /// </summary>
    /// <remarks><paramref name="content"/> is not copied; the caller may clear it once this returns.</remarks>
    public static byte[] Encrypt(byte[] content, string contentType, X509Certificate2 recipient, RSAEncryptionPadding padding, string contentAlgorithm)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        var enveloped = new EnvelopedCms(new ContentInfo(new Oid(contentType), content), new AlgorithmIdentifier(new Oid(contentAlgorithm)));
        SubjectIdentifierType rid = recipient.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Any()
            ? SubjectIdentifierType.SubjectKeyIdentifier
            : SubjectIdentifierType.IssuerAndSerialNumber;
        enveloped.Encrypt(new CmsRecipient(rid, recipient, padding));
        return enveloped.Encode();
    }

    /// <summary>
    /// Decrypts a ContentInfo carrying EnvelopedData with exactly one RecipientInfo, a KeyTransRecipientInfo for <paramref name="key"/>;
    /// returns the content and its type.
    /// </summary>
    /// <exception cref="CryptographicException">The message is malformed, has another number of recipients, or the key does not open it.</exception>
    public static byte[] Decrypt(ReadOnlySpan<byte> contentInfo, RSA key, out string contentType)
    {
        var enveloped = new EnvelopedCms();
        enveloped.Decode(contentInfo);
        if (enveloped.RecipientInfos.Count != 1)
        {
            throw new CryptographicException($"expected one recipient, found {enveloped.RecipientInfos.Count}");
        }

        enveloped.Decrypt(enveloped.RecipientInfos[0], key);
        contentType = enveloped.ContentInfo.ContentType.Value ?? "";
        return enveloped.ContentInfo.Content;
    }
}
