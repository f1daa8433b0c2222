using System.Text;
using CoapEnroll.Coap;

namespace CoapEnroll.Fuzz;

/// <summary>
/// The CoRE Link Format parser (RFC 6690) a client runs on a /.well-known/core answer: a document that parses must
/// serialize and parse again to the same links, and the filter a server applies to a query must not throw.
/// </summary>
internal sealed class LinkFormatTarget : IFuzzTarget
{
    public string Name => "link-format";

    public string Description => "CoapLinkFormat.TryParse, Serialize round trip, Filter/Matches with queries from the input";

    public void Run(ReadOnlySpan<byte> input)
    {
        // The first line, when there is more than one, is a query (RFC 6690 §4.1) to filter the document with.
        string text = Encoding.UTF8.GetString(input);
        int newline = text.IndexOf('\n', StringComparison.Ordinal);
        string query = newline >= 0 ? text[..newline] : "";
        string document = newline >= 0 ? text[(newline + 1)..] : text;

        if (!CoapLinkFormat.TryParse(document, out IReadOnlyList<CoapResourceDescription>? links, out _))
        {
            return;
        }

        string serialized = CoapLinkFormat.Serialize(links);
        if (!CoapLinkFormat.TryParse(serialized, out IReadOnlyList<CoapResourceDescription>? again, out string? error))
        {
            throw new FuzzInvariantException($"a parsed document serializes to one that does not parse: {error}");
        }

        if (CoapLinkFormat.Serialize(again) != serialized)
        {
            throw new FuzzInvariantException("parse(serialize(links)) serializes differently");
        }

        if (query.Length > 0)
        {
            CoapLinkFormat.Filter(links, query.Split('&'));
        }
    }
}
