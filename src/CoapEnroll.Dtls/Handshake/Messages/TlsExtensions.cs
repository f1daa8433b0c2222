using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace CoapEnroll.Dtls;

/// <summary>Builders and parsers for the extension_data of the extensions this implementation uses.</summary>
internal static class TlsExtensions
{
    /// <summary>Finds an extension by type, or null.</summary>
    public static TlsExtension? Find(IReadOnlyList<TlsExtension> extensions, ExtensionType type)
    {
        ArgumentNullException.ThrowIfNull(extensions);
        foreach (TlsExtension extension in extensions)
        {
            if (extension.Type == type)
            {
                return extension;
            }
        }

        return null;
    }

    /// <summary>supported_groups: NamedGroup named_group_list&lt;2..2^16-1&gt; (RFC 8422 §5.1.1).</summary>
    public static TlsExtension SupportedGroups(params NamedGroup[] groups) =>
        new(ExtensionType.SupportedGroups, WriteUInt16List(groups.Select(g => (ushort)g), 2, ushort.MaxValue - 1));

    public static bool TryParseSupportedGroups(ReadOnlySpan<byte> data, [NotNullWhen(true)] out NamedGroup[]? groups)
    {
        groups = TryReadUInt16List(data, 2, ushort.MaxValue - 1, out ushort[]? values) ? values.Select(v => (NamedGroup)v).ToArray() : null;
        return groups is not null;
    }

    /// <summary>ec_point_formats: ECPointFormat ec_point_format_list&lt;1..2^8-1&gt;; we send uncompressed(0) only (RFC 8422 §5.1.2).</summary>
    public static TlsExtension EcPointFormatsUncompressed() => new(ExtensionType.EcPointFormats, [1, 0]);

    /// <summary>Parses ec_point_formats; true only if well formed. Check the list contains 0 (uncompressed).</summary>
    public static bool TryParseEcPointFormats(ReadOnlySpan<byte> data, [NotNullWhen(true)] out byte[]? formats)
    {
        var reader = new TlsReader(data);
        formats = reader.TryReadVector(1, 1, byte.MaxValue, out ReadOnlySpan<byte> list) && reader.IsEmpty ? list.ToArray() : null;
        return formats is not null;
    }

    /// <summary>signature_algorithms: supported_signature_algorithms&lt;2..2^16-2&gt; (RFC 5246 §7.4.1.4.1).</summary>
    public static TlsExtension SignatureAlgorithms(params SignatureScheme[] schemes) =>
        new(ExtensionType.SignatureAlgorithms, EncodeSignatureSchemeList(schemes));

    public static bool TryParseSignatureAlgorithms(ReadOnlySpan<byte> data, [NotNullWhen(true)] out SignatureScheme[]? schemes)
    {
        schemes = TryReadUInt16List(data, 2, ushort.MaxValue - 1, out ushort[]? values) ? values.Select(v => (SignatureScheme)v).ToArray() : null;
        return schemes is not null;
    }

    /// <summary>extended_master_secret: empty extension_data (RFC 7627 §5.1).</summary>
    public static TlsExtension ExtendedMasterSecret() => new(ExtensionType.ExtendedMasterSecret, []);

    /// <summary>renegotiation_info for an initial handshake: renegotiated_connection&lt;0..255&gt; empty (RFC 5746 §3.2).</summary>
    public static TlsExtension RenegotiationInfoInitial() => new(ExtensionType.RenegotiationInfo, [0]);

    /// <summary>True when renegotiation_info data is the empty renegotiated_connection of an initial handshake.</summary>
    public static bool IsInitialRenegotiationInfo(ReadOnlySpan<byte> data) => data.Length == 1 && data[0] == 0;

    /// <summary>connection_id: opaque cid&lt;0..2^8-1&gt; (RFC 9146 §3); empty means "send me no CID".</summary>
    public static TlsExtension ConnectionId(ReadOnlySpan<byte> connectionId)
    {
        var writer = new TlsWriter();
        writer.WriteVector(1, 0, byte.MaxValue, connectionId);
        return new TlsExtension(ExtensionType.ConnectionId, writer.ToArray());
    }

    public static bool TryParseConnectionId(ReadOnlySpan<byte> data, [NotNullWhen(true)] out byte[]? connectionId)
    {
        var reader = new TlsReader(data);
        connectionId = reader.TryReadVector(1, 0, byte.MaxValue, out ReadOnlySpan<byte> cid) && reader.IsEmpty ? cid.ToArray() : null;
        return connectionId is not null;
    }

    /// <summary>server_name with one host_name (RFC 6066 §3).</summary>
    public static TlsExtension ServerName(string hostName)
    {
        ArgumentException.ThrowIfNullOrEmpty(hostName);
        var writer = new TlsWriter();
        int list = writer.BeginVector(2);
        writer.WriteUInt8(0);
        writer.WriteVector(2, 1, ushort.MaxValue, Encoding.ASCII.GetBytes(hostName));
        writer.EndVector(list, 2, 1, ushort.MaxValue);
        return new TlsExtension(ExtensionType.ServerName, writer.ToArray());
    }

    /// <summary>Parses a ClientHello server_name and returns its host_name (empty data, as a server echoes, is not accepted here).</summary>
    public static bool TryParseServerName(ReadOnlySpan<byte> data, [NotNullWhen(true)] out string? hostName)
    {
        hostName = null;
        var reader = new TlsReader(data);
        if (!reader.TryReadVector(2, 1, ushort.MaxValue, out ReadOnlySpan<byte> list) || !reader.IsEmpty)
        {
            return false;
        }

        var entries = new TlsReader(list);
        while (!entries.IsEmpty)
        {
            if (!entries.TryReadUInt8(out byte nameType) || !entries.TryReadVector(2, 1, ushort.MaxValue, out ReadOnlySpan<byte> name))
            {
                return false;
            }

            if (nameType == 0 && hostName is null)
            {
                if (name.IndexOfAnyExceptInRange((byte)0x21, (byte)0x7e) >= 0)
                {
                    return false;
                }

                hostName = Encoding.ASCII.GetString(name);
            }
        }

        return hostName is not null;
    }

    internal static byte[] EncodeSignatureSchemeList(IReadOnlyList<SignatureScheme> schemes) =>
        WriteUInt16List(schemes.Select(s => (ushort)s), 2, ushort.MaxValue - 1);

    internal static byte[] WriteUInt16List(IEnumerable<ushort> values, int min, int max)
    {
        var writer = new TlsWriter();
        WriteUInt16Vector(writer, values, min, max);
        return writer.ToArray();
    }

    internal static void WriteUInt16Vector(TlsWriter writer, IEnumerable<ushort> values, int min, int max)
    {
        int start = writer.BeginVector(2);
        foreach (ushort value in values)
        {
            writer.WriteUInt16(value);
        }

        writer.EndVector(start, 2, min, max);
    }

    internal static bool TryReadUInt16List(ReadOnlySpan<byte> data, int min, int max, [NotNullWhen(true)] out ushort[]? values)
    {
        var reader = new TlsReader(data);
        if (!TryReadUInt16Vector(ref reader, min, max, out values) || !reader.IsEmpty)
        {
            values = null;
            return false;
        }

        return true;
    }

    internal static bool TryReadUInt16Vector(ref TlsReader reader, int min, int max, [NotNullWhen(true)] out ushort[]? values)
    {
        values = null;
        if (!reader.TryReadVector(2, min, max, out ReadOnlySpan<byte> list) || list.Length % 2 != 0)
        {
            return false;
        }

        values = new ushort[list.Length / 2];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (ushort)((list[2 * i] << 8) | list[2 * i + 1]);
        }

        return true;
    }
}
