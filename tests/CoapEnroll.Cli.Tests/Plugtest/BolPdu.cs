using System.Globalization;
using System.Text.RegularExpressions;
using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// One message as libcoap's <c>coap-client -v 7</c> logs it, e.g.
/// <c>v:1 t:ACK c:2.05 i:bb83 {01} [ Content-Format:text/plain, Block2:0/M/64, Size2:4096 ] :: 'payload'</c>: what went over
/// the wire between libcoap and our server, read back for the verdict checks of a test description.
/// </summary>
public sealed partial record BolPdu(string Type, string Code, ushort MessageId, string Token, IReadOnlyList<KeyValuePair<string, string>> Options)
{
    /// <summary>A response code (2.05, 4.04, …) as opposed to a method or an empty message (0.00).</summary>
    public bool IsResponse => Code.Length == 4 && Code[1] == '.' && Code != "0.00";

    /// <summary>The first value of option <paramref name="name"/> (as libcoap names it), or null.</summary>
    public string? Option(string name) => Options.FirstOrDefault(o => o.Key == name).Value;

    /// <summary>Every value of option <paramref name="name"/>, in order.</summary>
    public IEnumerable<string> All(string name) => Options.Where(o => o.Key == name).Select(o => o.Value);

    public uint? Observe => Option("Observe") is { } v ? uint.Parse(v, CultureInfo.InvariantCulture) : null;

    public uint? MaxAge => Option("Max-Age") is { } v ? uint.Parse(v, CultureInfo.InvariantCulture) : null;

    public BlockOption? Block1 => ParseBlock(Option("Block1"));

    public BlockOption? Block2 => ParseBlock(Option("Block2"));

    /// <summary>Every message libcoap logged in <paramref name="output"/> (it logs a request it sends twice; responses once).</summary>
    public static IReadOnlyList<BolPdu> ParseAll(string output)
    {
        var messages = new List<BolPdu>();
        bool synthetic = false;
        foreach (string line in output.Split('\n'))
        {
            // After a block-wise transfer libcoap logs the reassembled response it hands the application ("Client app version of
            // updated PDU"): not a message on the wire.
            bool skip = synthetic;
            synthetic = line.Contains("Client app version", StringComparison.Ordinal);
            if (skip || Line().Match(line.TrimEnd('\r')) is not { Success: true } match)
            {
                continue;
            }

            var options = new List<KeyValuePair<string, string>>();
            foreach (string option in match.Groups["options"].Value.Split(", ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                int colon = option.IndexOf(':', StringComparison.Ordinal);
                options.Add(colon < 0 ? new(option, string.Empty) : new(option[..colon], option[(colon + 1)..]));
            }

            messages.Add(new BolPdu(match.Groups["type"].Value, match.Groups["code"].Value,
                ushort.Parse(match.Groups["mid"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture), match.Groups["token"].Value, options));
        }

        return messages;
    }

    /// <summary>libcoap writes a block option as NUM/M/SIZE, with <c>_</c> for a clear M bit.</summary>
    private static BlockOption? ParseBlock(string? text)
    {
        if (text is null)
        {
            return null;
        }

        string[] parts = text.Split('/');
        int size = int.Parse(parts[2], CultureInfo.InvariantCulture);
        return new BlockOption(int.Parse(parts[0], CultureInfo.InvariantCulture), parts[1] == "M", BlockOption.SizeToExponent(size));
    }

    public override string ToString() => $"{Type} {Code} {MessageId:x4} {{{Token}}} [ {string.Join(", ", Options.Select(o => $"{o.Key}:{o.Value}"))} ]";

    [GeneratedRegex(@"^v:1 t:(?<type>CON|NON|ACK|RST) c:(?<code>\S+) i:(?<mid>[0-9a-f]{4}) \{(?<token>[0-9a-f]*)\} \[ ?(?<options>.*?) ?\]")]
    private static partial Regex Line();
}
