namespace CoapEnroll.Dtls;

/// <summary>One hello extension: type and opaque extension_data (RFC 5246 §7.4.1.4). Unknown types are kept raw.</summary>
internal sealed record TlsExtension(ExtensionType Type, byte[] Data)
{
    /// <summary>
    /// Parses extensions&lt;0..2^16-1&gt; from the end of a hello. An absent block (no bytes left) gives an
    /// empty list. Duplicate types are rejected (RFC 5246 §7.4.1.4), as are trailing bytes.
    /// </summary>
    internal static bool TryReadList(ref TlsReader reader, out List<TlsExtension> extensions)
    {
        extensions = [];
        if (reader.IsEmpty)
        {
            return true;
        }

        if (!reader.TryReadVector(2, 0, ushort.MaxValue, out ReadOnlySpan<byte> block) || !reader.IsEmpty)
        {
            return false;
        }

        var inner = new TlsReader(block);
        var seen = new HashSet<ushort>();
        while (!inner.IsEmpty)
        {
            if (!inner.TryReadUInt16(out ushort type) || !inner.TryReadVector(2, 0, ushort.MaxValue, out ReadOnlySpan<byte> data) ||
                !seen.Add(type))
            {
                return false;
            }

            extensions.Add(new TlsExtension((ExtensionType)type, data.ToArray()));
        }

        return true;
    }

    /// <summary>Writes the list; nothing at all when empty (the block is optional in both hellos).</summary>
    internal static void WriteList(TlsWriter writer, IReadOnlyList<TlsExtension> extensions)
    {
        if (extensions.Count == 0)
        {
            return;
        }

        var seen = new HashSet<ExtensionType>();
        int start = writer.BeginVector(2);
        foreach (TlsExtension extension in extensions)
        {
            if (!seen.Add(extension.Type))
            {
                throw new InvalidOperationException($"Duplicate extension {extension.Type}.");
            }

            writer.WriteUInt16((ushort)extension.Type);
            writer.WriteVector(2, 0, ushort.MaxValue, extension.Data);
        }

        writer.EndVector(start, 2, 0, ushort.MaxValue);
    }
}
