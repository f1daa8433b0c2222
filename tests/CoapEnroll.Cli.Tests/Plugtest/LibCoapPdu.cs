namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// One message in <c>coap-client -v 9</c>'s notation: the type (CON, NON, ACK, RST), the code as libcoap prints it (GET, 2.05,
/// 0.00), the message ID, the token in hex, the options as name and printed value (Content-Format as a name such as
/// <c>text/plain</c>, opaque values as <c>0x…</c>) and the payload with non-printable bytes escaped (<c>\x0A</c>).
/// </summary>
public sealed record LibCoapPdu(bool Sent, string Type, string Code, ushort MessageId, string Token,
    IReadOnlyList<KeyValuePair<string, string>> Options, string? Payload)
{
    public bool IsRequest => Code is "GET" or "POST" or "PUT" or "DELETE" or "FETCH" or "PATCH" or "iPATCH";

    public bool IsResponse => Code.Length == 4 && Code[0] is >= '2' and <= '5' && Code[1] == '.';

    public bool IsEmpty => Code == "0.00";

    /// <summary>The values of every instance of the option, in order.</summary>
    public IReadOnlyList<string> OptionValues(string name) => [.. Options.Where(o => o.Key == name).Select(o => o.Value)];

    public bool HasOption(string name) => Options.Any(o => o.Key == name);

    public override string ToString() =>
        $"{(Sent ? "sent" : "received")} {Type} {Code} MID={MessageId:x4} token={{{Token}}} [{string.Join(", ", Options.Select(o => $"{o.Key}:{o.Value}"))}]"
        + (Payload is null ? "" : $" :: '{Payload}'");
}
