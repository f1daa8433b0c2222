using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Cmp;

/// <summary>A GeneralName of the PKIHeader: directoryName is decoded, every other form is kept as its DER.</summary>
public sealed class CmpGeneralName
{
    private const int DirectoryNameTag = 4;

    private CmpGeneralName(int tagNumber, ReadOnlyMemory<byte> encoded, ReadOnlyMemory<byte>? directoryName)
    {
        TagNumber = tagNumber;
        Encoded = encoded;
        DirectoryNameDer = directoryName;
    }

    /// <summary>The context tag of the GeneralName form (4 for directoryName, 1 rfc822Name, 2 dNSName, 6 URI ...).</summary>
    public int TagNumber { get; }

    /// <summary>The DER of the whole GeneralName.</summary>
    public ReadOnlyMemory<byte> Encoded { get; }

    /// <summary>The DER of the Name when this is a directoryName, else <see langword="null"/>.</summary>
    public ReadOnlyMemory<byte>? DirectoryNameDer { get; }

    /// <summary>Whether this is a directoryName.</summary>
    public bool IsDirectoryName => DirectoryNameDer is not null;

    /// <summary>The directoryName as an <see cref="X500DistinguishedName"/>, or <see langword="null"/> for other forms.</summary>
    public X500DistinguishedName? DirectoryName => DirectoryNameDer is { } der ? new X500DistinguishedName(der.Span) : null;

    /// <summary>Whether this is the empty directoryName (the NULL-DN used when the name is unknown).</summary>
    public bool IsNullDirectoryName => DirectoryNameDer is { Length: 2 };

    /// <summary>A directoryName GeneralName.</summary>
    public static CmpGeneralName FromDirectoryName(X500DistinguishedName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var writer = new AsnWriter(CmpDer.Rules);
        CmpDer.WriteExplicitValue(writer, DirectoryNameTag, name.RawData);
        byte[] encoded = writer.Encode();
        return new CmpGeneralName(DirectoryNameTag, encoded, name.RawData);
    }

    /// <summary>A GeneralName of any form given as its DER.</summary>
    public static CmpGeneralName FromEncoded(ReadOnlyMemory<byte> encoded)
    {
        var reader = new AsnReader(encoded, CmpDer.Rules);
        CmpGeneralName name = Read(reader);
        reader.ThrowIfNotEmpty();
        return name;
    }

    internal static CmpGeneralName Read(AsnReader reader)
    {
        Asn1Tag tag = reader.PeekTag();
        if (tag.TagClass != TagClass.ContextSpecific || tag.TagValue > 8)
        {
            throw new AsnContentException("GeneralName has a tag outside [0]..[8]");
        }

        if (tag.TagValue == DirectoryNameTag)
        {
            ReadOnlyMemory<byte> whole = reader.PeekEncodedValue();
            ReadOnlyMemory<byte> name = CmpDer.ReadExplicitValue(reader, DirectoryNameTag);
            if (name.Span[0] != 0x30)
            {
                throw new AsnContentException("directoryName is not an RDNSequence");
            }

            return new CmpGeneralName(DirectoryNameTag, whole.ToArray(), name.ToArray());
        }

        return new CmpGeneralName(tag.TagValue, reader.ReadEncodedValue().ToArray(), null);
    }

    internal void WriteTo(AsnWriter writer) => writer.WriteEncodedValue(Encoded.Span);
}
