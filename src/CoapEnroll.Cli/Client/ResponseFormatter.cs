using System.Text;
using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Client;

/// <summary>
/// Renders a response for an operator: the code with its reason phrase, each option by its
/// registered name, then the payload as text when it is printable UTF-8 (or a text format) and as a
/// hex dump otherwise.
/// </summary>
internal static class ResponseFormatter
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Writes the code line and the options, one per line, indented by two spaces.</summary>
    public static void WriteHead(TextWriter output, CoapMessage response)
    {
        output.WriteLine(CoapCodeNames.Describe(response.Code));
        foreach (var option in response.Options)
        {
            output.Write("  ");
            output.WriteLine(FormatOption(option));
        }
    }

    /// <summary>Writes the payload after a blank line; nothing when it is empty.</summary>
    public static void WritePayload(TextWriter output, CoapMessage response)
    {
        if (response.Payload.IsEmpty)
        {
            return;
        }

        output.WriteLine();
        if (TryGetText(response.Payload.Span, response.ContentFormat, out string? text))
        {
            output.Write(text);
            if (!text.EndsWith('\n'))
            {
                output.WriteLine();
            }
        }
        else
        {
            WriteHexDump(output, response.Payload.Span);
        }
    }

    public static string FormatOption(CoapOption option)
    {
        if (option.Number is CoapOptionNumber.ContentFormat or CoapOptionNumber.Accept && option.TryGetUInt(out uint ct))
        {
            return $"{option.Name}: {ContentFormats.Describe((int)ct)}";
        }

        return option.ToString();
    }

    /// <summary>
    /// The payload as text when its content format is a text format, or when no binary format is
    /// declared and it is valid UTF-8 without control characters other than tab, CR and LF.
    /// </summary>
    public static bool TryGetText(ReadOnlySpan<byte> payload, int? contentFormat, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? text)
    {
        text = null;
        if (contentFormat is { } ct && ContentFormats.IsBinary(ct))
        {
            return false;
        }

        string decoded;
        try
        {
            decoded = s_strictUtf8.GetString(payload);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        foreach (char c in decoded)
        {
            if (char.IsControl(c) && c is not ('\t' or '\r' or '\n'))
            {
                return false;
            }
        }

        text = decoded;
        return true;
    }

    /// <summary>The classic 16-bytes-a-line dump: offset, hex in two groups of eight, printable ASCII.</summary>
    public static void WriteHexDump(TextWriter output, ReadOnlySpan<byte> data)
    {
        var line = new StringBuilder(80);
        for (int offset = 0; offset < data.Length; offset += 16)
        {
            line.Clear();
            line.Append(offset.ToString("x8", System.Globalization.CultureInfo.InvariantCulture)).Append("  ");
            var chunk = data.Slice(offset, Math.Min(16, data.Length - offset));
            for (int i = 0; i < 16; i++)
            {
                line.Append(i < chunk.Length ? chunk[i].ToString("x2", System.Globalization.CultureInfo.InvariantCulture) : "  ");
                line.Append(i == 7 ? "  " : " ");
            }

            line.Append(" |");
            foreach (byte b in chunk)
            {
                line.Append(b is >= 0x20 and < 0x7F ? (char)b : '.');
            }

            line.Append('|');
            output.WriteLine(line.ToString());
        }
    }
}
