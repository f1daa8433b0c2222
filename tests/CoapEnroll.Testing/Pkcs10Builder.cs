using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Text;

namespace CoapEnroll.Testing;

/// <summary>
/// A PKCS#10 CertificationRequest (RFC 2986) assembled field by field with AsnWriter, so that tests can send what no library
/// would produce: any string type or bytes in the subject, any key, algorithm identifier, attribute or signature. By default it
/// is a valid ecdsa-with-SHA256 request for CN=demo-device-1 signed by <see cref="Key"/>.
/// </summary>
public sealed class Pkcs10Builder
{
    public const string EcdsaWithSha256 = "1.2.840.10045.4.3.2";
    public const string CommonName = "2.5.4.3";
    public const string SerialNumber = "2.5.4.5";
    public const string ExtensionRequest = "1.2.840.113549.1.9.14";

    public Pkcs10Builder(ECDsa key)
    {
        Key = key;
        SubjectPublicKeyInfo = key.ExportSubjectPublicKeyInfo();
    }

    /// <summary>The key that signs (unless <see cref="Signature"/> is set).</summary>
    public ECDsa Key { get; }

    /// <summary>The version INTEGER (RFC 2986: 0).</summary>
    public int Version { get; set; }

    /// <summary>The subject Name DER.</summary>
    public byte[] Subject { get; set; } = Name((CommonName, UniversalTagNumber.UTF8String, Encoding.UTF8.GetBytes("demo-device-1")));

    /// <summary>The SubjectPublicKeyInfo DER (the key's own by default).</summary>
    public byte[] SubjectPublicKeyInfo { get; set; }

    /// <summary>The Attribute DERs inside [0].</summary>
    public List<byte[]> Attributes { get; } = [];

    /// <summary>The signature AlgorithmIdentifier DER.</summary>
    public byte[] SignatureAlgorithm { get; set; } = AlgorithmIdentifier(EcdsaWithSha256);

    /// <summary>The hash <see cref="Key"/> signs with.</summary>
    public HashAlgorithmName Hash { get; set; } = HashAlgorithmName.SHA256;

    /// <summary>Signs certificationRequestInfo instead of <see cref="Key"/> (e.g. an RSA or DSA key).</summary>
    public Func<byte[], byte[]>? Signer { get; set; }

    /// <summary>A fixed signature value instead of a computed one.</summary>
    public byte[]? Signature { get; set; }

    /// <summary>Unused bits declared in the signature BIT STRING.</summary>
    public int UnusedBits { get; set; }

    /// <summary>The certificationRequestInfo DER.</summary>
    public byte[] Info()
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(Version);
            writer.WriteEncodedValue(Subject);
            writer.WriteEncodedValue(SubjectPublicKeyInfo);
            using (writer.PushSetOf(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
            {
                foreach (byte[] attribute in Attributes)
                {
                    writer.WriteEncodedValue(attribute);
                }
            }
        }

        return writer.Encode();
    }

    public byte[] Build()
    {
        byte[] info = Info();
        byte[] signature = Signature ?? Signer?.Invoke(info) ?? Key.SignData(info, Hash, DSASignatureFormat.Rfc3279DerSequence);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteEncodedValue(info);
            writer.WriteEncodedValue(SignatureAlgorithm);
            if (UnusedBits == 0)
            {
                writer.WriteBitString(signature);
            }
            else
            {
                // AsnWriter insists that unused bits are zero; a raw BIT STRING says whatever the test wants.
                writer.WriteEncodedValue([0x03, (byte)(signature.Length + 1), (byte)UnusedBits, .. signature]);
            }
        }

        return writer.Encode();
    }

    /// <summary>A Name of one single-valued RDN per attribute, each value with the given universal tag and raw content octets.</summary>
    public static byte[] Name(params (string Type, UniversalTagNumber Tag, byte[] Value)[] attributes)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var (type, tag, value) in attributes)
            {
                using (writer.PushSetOf())
                {
                    writer.WriteEncodedValue(AttributeTypeAndValue(type, tag, value));
                }
            }
        }

        return writer.Encode();
    }

    /// <summary>An AttributeTypeAndValue with the value's universal tag and raw content octets.</summary>
    public static byte[] AttributeTypeAndValue(string type, UniversalTagNumber tag, byte[] value)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(type);
            writer.WriteEncodedValue(Tlv((byte)tag, value));
        }

        return writer.Encode();
    }

    /// <summary>A primitive TLV with a definite length (short or long form).</summary>
    public static byte[] Tlv(byte tag, byte[] content)
    {
        byte[] length = content.Length switch
        {
            < 0x80 => [(byte)content.Length],
            < 0x100 => [0x81, (byte)content.Length],
            _ => [0x82, (byte)(content.Length >> 8), (byte)content.Length],
        };
        return [tag, .. length, .. content];
    }

    /// <summary>An AlgorithmIdentifier: OID and, when given, the parameters DER.</summary>
    public static byte[] AlgorithmIdentifier(string oid, byte[]? parameters = null)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(oid);
            if (parameters is not null)
            {
                writer.WriteEncodedValue(parameters);
            }
        }

        return writer.Encode();
    }

    /// <summary>A SubjectPublicKeyInfo: the algorithm identifier and the key bits.</summary>
    public static byte[] PublicKeyInfo(byte[] algorithm, byte[] key)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteEncodedValue(algorithm);
            writer.WriteBitString(key);
        }

        return writer.Encode();
    }

    /// <summary>An Attribute ::= SEQUENCE { type, SET OF values } with the values' DER.</summary>
    public static byte[] Attribute(string type, params byte[][] values)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(type);
            using (writer.PushSetOf())
            {
                foreach (byte[] value in values)
                {
                    writer.WriteEncodedValue(value);
                }
            }
        }

        return writer.Encode();
    }

    /// <summary>A PKCS#9 extensionRequest attribute with Extensions ::= SEQUENCE OF (oid, critical, OCTET STRING value DER).</summary>
    public static byte[] ExtensionRequestAttribute(params (string Oid, bool Critical, byte[] Value)[] extensions)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var (oid, critical, value) in extensions)
            {
                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(oid);
                    if (critical)
                    {
                        writer.WriteBoolean(true);
                    }

                    writer.WriteOctetString(value);
                }
            }
        }

        return Attribute(ExtensionRequest, writer.Encode());
    }

    /// <summary>A subjectAltName value with dNSNames.</summary>
    public static byte[] DnsNames(params string[] names)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (string name in names)
            {
                writer.WriteCharacterString(UniversalTagNumber.IA5String, name, new Asn1Tag(TagClass.ContextSpecific, 2));
            }
        }

        return writer.Encode();
    }
}
