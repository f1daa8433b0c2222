using System.Globalization;
using System.Text.RegularExpressions;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// The messages <c>coap-client</c> sent and received, read from its <c>-v 9</c> output, where each "sent N bytes" or
/// "received N bytes" line is followed by the message as <c>v:1 t:CON c:GET i:c300 {6162} [ Uri-Path:test ] :: 'payload'</c>:
/// what the TD checks ask of the client's stimulus and of the server's answer, as the client saw them on the wire.
/// </summary>
public sealed partial class LibCoapTrace
{
    private LibCoapTrace(ProcessResult result, IReadOnlyList<LibCoapPdu> pdus)
    {
        Result = result;
        Pdus = pdus;
    }

    public ProcessResult Result { get; }

    /// <summary>Every message sent or received, in order.</summary>
    public IReadOnlyList<LibCoapPdu> Pdus { get; }

    public IEnumerable<LibCoapPdu> Sent => Pdus.Where(p => p.Sent);

    public IEnumerable<LibCoapPdu> Received => Pdus.Where(p => !p.Sent);

    /// <summary>The client's output and the messages found, for assertion messages.</summary>
    public string Describe() => Result.Describe();

    /// <summary>The first request the client sent; fails the test when there is none.</summary>
    public LibCoapPdu Request => Sent.FirstOrDefault(p => p.IsRequest) ?? throw new Xunit.Sdk.XunitException("coap-client sent no request." + Environment.NewLine + Describe());

    /// <summary>The first response (a message with a 2.xx–5.xx code) the client received; fails the test when there is none.</summary>
    public LibCoapPdu Response => Received.FirstOrDefault(p => p.IsResponse) ?? throw new Xunit.Sdk.XunitException("coap-client received no response." + Environment.NewLine + Describe());

    public static LibCoapTrace Parse(ProcessResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var pdus = new List<LibCoapPdu>();
        string[] lines = result.StandardOutput.Split('\n');
        for (int i = 0; i + 1 < lines.Length; i++)
        {
            bool sent = SentLine().IsMatch(lines[i]);
            if (!sent && !ReceivedLine().IsMatch(lines[i]))
            {
                continue;
            }

            if (PduLine().Match(lines[i + 1].TrimEnd('\r')) is { Success: true } pdu)
            {
                pdus.Add(new LibCoapPdu(
                    sent,
                    pdu.Groups["type"].Value,
                    pdu.Groups["code"].Value,
                    ushort.Parse(pdu.Groups["mid"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                    pdu.Groups["token"].Value,
                    ParseOptions(pdu.Groups["options"].Value),
                    pdu.Groups["payload"].Success ? pdu.Groups["payload"].Value : null));
            }
        }

        return new LibCoapTrace(result, pdus);
    }

    private static List<KeyValuePair<string, string>> ParseOptions(string text)
    {
        var options = new List<KeyValuePair<string, string>>();
        foreach (string option in text.Split(", ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = option.IndexOf(':', StringComparison.Ordinal);
            options.Add(colon < 0 ? new(option, "") : new(option[..colon], option[(colon + 1)..]));
        }

        return options;
    }

    [GeneratedRegex(@"UDP : sent \d+ bytes\s*$")]
    private static partial Regex SentLine();

    [GeneratedRegex(@"UDP : received \d+ bytes\s*$")]
    private static partial Regex ReceivedLine();

    [GeneratedRegex(@"^v:1 t:(?<type>CON|NON|ACK|RST) c:(?<code>[0-9A-Z.]+) i:(?<mid>[0-9a-f]{4}) \{(?<token>[0-9a-f]*)\} \[(?<options>[^\]]*)\](?: :: '(?<payload>.*)')?$")]
    private static partial Regex PduLine();
}
