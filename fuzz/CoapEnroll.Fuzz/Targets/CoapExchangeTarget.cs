using System.Buffers.Binary;
using System.Net;
using CoapEnroll.Coap;

namespace CoapEnroll.Fuzz;

/// <summary>
/// Block-wise (RFC 7959, RFC 9175 Request-Tag) and observe (RFC 7641) option handling: a sequence of datagrams from up to
/// eight peers through a fresh server's request pipeline (block-wise, observe, router), checked the way the endpoint does
/// first (critical options, proxy options). Every request gets an answer that encodes and fits the datagram, and none
/// is 5.00: a handler's exception would reach the client as 5.00.
/// </summary>
/// <remarks>
/// Input: records of [peer (1 byte)][length (2 bytes, big-endian)][datagram]; a datagram that does not decode, or is not a
/// request, is skipped as the endpoint skips it. At most 64 records.
/// </remarks>
internal sealed class CoapExchangeTarget : IFuzzTarget
{
    private const int MaxRecords = 64;
    private static readonly byte[] LargeBody = Enumerable.Range(0, 2500).Select(i => (byte)('a' + (i % 26))).ToArray();

    public string Name => "coap-exchange";

    public string Description => "block-wise and observe layers: datagram sequences through CoapServer's pipeline";

    public void Run(ReadOnlySpan<byte> input)
    {
        var server = NewServer();
        var endpoint = new CoapEndpoint(new IdleDatagramChannel());
        ICoapRequestHandler pipeline = server.Pipeline;
        int records = 0;
        while (input.Length >= 3 && records++ < MaxRecords)
        {
            int peer = input[0] & 7;
            int length = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(input[1..]), input.Length - 3);
            byte[] datagram = input.Slice(3, length).ToArray();
            input = input[(3 + length)..];
            if (CoapMessageDecoder.TryDecode(datagram, out CoapMessage? request) != CoapDecodeStatus.Success || !request!.IsRequest)
            {
                continue;
            }

            CoapMessage response = Answer(pipeline, endpoint, request, new IPEndPoint(IPAddress.Parse($"192.0.2.{1 + (peer & 3)}"), 40000 + (peer >> 2)));
            if (response.Code == CoapCode.InternalServerError)
            {
                throw new FuzzInvariantException($"a request got 5.00: {request}");
            }

            var sent = response with { Type = CoapMessageType.Acknowledgement, MessageId = request.MessageId, Token = request.Token };
            int size = CoapMessageEncoder.Encode(sent).Length;
            if (size > endpoint.MaxMessageSize)
            {
                throw new FuzzInvariantException($"a {size}-byte answer exceeds the {endpoint.MaxMessageSize}-byte datagram: {request} -> {response}");
            }
        }
    }

    // What CoapEndpoint does between decoding a request and sending the answer, less deduplication and transmission.
    private static CoapMessage Answer(ICoapRequestHandler pipeline, CoapEndpoint endpoint, CoapMessage request, EndPoint peer)
    {
        if (request.TryFindRejectableOption(out _))
        {
            return new CoapMessage { Code = CoapCode.BadOption };
        }

        if (request.Options.Contains(CoapOptionNumber.ProxyUri) || request.Options.Contains(CoapOptionNumber.ProxyScheme))
        {
            return new CoapMessage { Code = CoapCode.ProxyingNotSupported };
        }

        ValueTask<CoapMessage> handling;
        try
        {
            handling = pipeline.HandleAsync(new CoapRequestContext(request, peer, endpoint), CancellationToken.None);
            if (!handling.IsCompleted)
            {
                // Every resource here answers synchronously, and no layer waits on anything else.
                throw new FuzzInvariantException($"the pipeline went asynchronous on {request}");
            }

            return handling.Result;
        }
        catch (CoapProtocolException ex) when (ex.Error == CoapError.BadOption)
        {
            return new CoapMessage { Code = CoapCode.BadOption };
        }
    }

    private static CoapServer NewServer()
    {
        var server = new CoapServer();
        server.MapGet("/large", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }.WithContentFormat(CoapContentFormat.TextPlain).WithPayload(LargeBody)))
            .WithResourceType("block");
        server.MapPost("/large-post", (context, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Changed }.WithPayload(context.Request.Payload)));
        server.MapPut("/large-update", (context, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Changed }.WithPayload($"{context.Request.Payload.Length}")));
        server.MapGet("/obs", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }.WithPayload("12:00:00"))).Observable();
        server.MapFetch("/obs", (context, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }.WithPayload(context.Request.Payload))).Observable();
        server.MapGet("/obs-large", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }.WithPayload(LargeBody))).Observable();
        server.MapGet("/path/{id}", (context, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }.WithPayload(context.RouteValues["id"])));
        return server;
    }
}
