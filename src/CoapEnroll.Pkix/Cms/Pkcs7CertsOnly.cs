using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Pkix;

/// <summary>
/// application/pkcs7-mime; smime-type=certs-only (Content-Format 281): a CMC Simple PKI Response (RFC 5272 §4.1), i.e. a
/// "degenerate" CMS SignedData (RFC 5652 §5) with no signers, an empty id-data encapsulated content and the certificates.
/// </summary>
/// <remarks>
/// <see cref="SignedCms.Encode"/> refuses a message without signers ("The CMS message is not signed"), so the structure is
/// written here with <see cref="AsnWriter"/>; decoding uses <see cref="SignedCms"/>.
/// </remarks>
public static class Pkcs7CertsOnly
{
    /// <summary>Largest accepted certs-only body.</summary>
    public const int MaxLength = 256 * 1024;

    /// <summary>Encodes the certificates as a DER certs-only SignedData (the SET OF is sorted as DER requires).</summary>
    public static byte[] Encode(IEnumerable<X509Certificate2> certificates)
    {
        ArgumentNullException.ThrowIfNull(certificates);
        return Encode(certificates.Select(certificate => certificate.RawDataMemory));
    }

    /// <summary>Encodes one certificate, given as its DER, as a DER certs-only SignedData.</summary>
    /// <exception cref="ArgumentException"><paramref name="certificate"/> is not one DER value.</exception>
    public static byte[] Encode(ReadOnlyMemory<byte> certificate) => Encode([certificate]);

    private static byte[] Encode(IEnumerable<ReadOnlyMemory<byte>> certificates)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            // ContentInfo (RFC 5652 §3)
            writer.WriteObjectIdentifier(PkixOids.SignedData);
            using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
            using (writer.PushSequence())
            {
                // SignedData (RFC 5652 §5.1): version 1 (no attribute certificates, id-data content, no signers)
                writer.WriteInteger(1);
                using (writer.PushSetOf())
                {
                    // digestAlgorithms: empty, there are no signers
                }

                using (writer.PushSequence())
                {
                    // encapContentInfo: id-data without eContent
                    writer.WriteObjectIdentifier(PkixOids.Data);
                }

                using (writer.PushSetOf(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
                {
                    foreach (ReadOnlyMemory<byte> certificate in certificates)
                    {
                        writer.WriteEncodedValue(certificate.Span);
                    }
                }

                using (writer.PushSetOf())
                {
                    // signerInfos: empty
                }
            }
        }

        return writer.Encode();
    }

    /// <summary>
    /// Decodes a certs-only response and returns its certificates. Refuses anything with signers or encapsulated content,
    /// trailing data, or no certificate at all.
    /// </summary>
    /// <exception cref="CryptographicException">The body is not a certs-only SignedData.</exception>
    public static X509Certificate2Collection Decode(ReadOnlySpan<byte> der)
    {
        if (der.Length is 0 or > MaxLength)
        {
            throw new CryptographicException($"certs-only body length {der.Length} is outside 1..{MaxLength}");
        }

        try
        {
            // One complete DER/BER value, nothing after it.
            AsnDecoder.ReadEncodedValue(der, AsnEncodingRules.BER, out _, out _, out int consumed);
            if (consumed != der.Length)
            {
                throw new CryptographicException("data follows the certs-only SignedData");
            }
        }
        catch (AsnContentException ex)
        {
            throw new CryptographicException("certs-only body is not ASN.1", ex);
        }

        var cms = new SignedCms();
        cms.Decode(der);
        if (cms.SignerInfos.Count != 0 || cms.ContentInfo.Content.Length != 0 || cms.ContentInfo.ContentType.Value != PkixOids.Data)
        {
            throw new CryptographicException("not a certs-only message: it has signers or content (RFC 5272 §4.1)");
        }

        if (cms.Certificates.Count == 0)
        {
            throw new CryptographicException("the certs-only message carries no certificate");
        }

        return cms.Certificates;
    }
}
