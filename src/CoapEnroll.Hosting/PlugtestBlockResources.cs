using System.Globalization;
using System.Text;
using CoapEnroll.Coap;

namespace CoapEnroll.Hosting;

/// <summary>
/// The block-wise resources of the ETSI/F-Interop CoAP plugtest (TD_COAP_BLOCK_03 to _05), mapped by <c>serve</c> only with
/// <c>Coap:PlugtestResources=true</c> because anyone may write them. Bodies are sent and received in blocks by the server's
/// block-wise layer (RFC 7959); the handlers here see whole bodies.
/// <list type="bullet">
/// <item><c>/large-update</c>: GET returns the body last PUT (at first <see cref="InitialUpdateBody"/>) with its Content-Format;
/// PUT replaces it (2.04), honouring If-Match and If-None-Match (4.12).</item>
/// <item><c>/large-create</c>: POST creates <c>/large-create/N</c> holding the body (2.01 with Location-Path <c>large-create</c>,
/// <c>N</c>); GET of that location returns it. Only the newest <see cref="MaxCreated"/> are kept.</item>
/// <item><c>/large-post</c>: POST answers 2.04 with the body it received, so that a large request gets a large response (Block1
/// one way, Block2 the other).</item>
/// </list>
/// (<c>/large</c>, the GET of TD_COAP_BLOCK_01, _02 and _06, is a <see cref="DiagnosticResources"/> resource.)
/// </summary>
public sealed class PlugtestBlockResources
{
    /// <summary>How many resources POST to <c>/large-create</c> keeps; creating another forgets the oldest.</summary>
    public const int MaxCreated = 16;

    private readonly Lock _lock = new();
    private readonly Dictionary<long, DiagnosticResources.StoredBody> _created = [];
    private readonly Queue<long> _createdOrder = new();
    private DiagnosticResources.StoredBody _update = new(InitialUpdateBody, CoapContentFormat.TextPlain);
    private long _nextId = 1;

    /// <summary>What <c>/large-update</c> holds until the first PUT: 2048 bytes: 64 numbered text lines of 32 bytes.</summary>
    public static ReadOnlyMemory<byte> InitialUpdateBody { get; } = CreateInitialBody();

    public void Map(CoapServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        server.MapGet("/large-update", (_, _) => ValueTask.FromResult(GetUpdate()))
            .WithTitle("Plugtest: a large resource to replace with a block-wise PUT")
            .WithContentFormat(CoapContentFormat.TextPlain);
        server.MapPut("/large-update", (context, _) => ValueTask.FromResult(PutUpdate(context.Request)));

        server.MapPost("/large-create", (context, _) => ValueTask.FromResult(Create(context.Request)))
            .WithTitle("Plugtest: POST a large body to create /large-create/N");
        server.MapGet("/large-create/{id}", (context, _) => ValueTask.FromResult(GetCreated(context.RouteValues["id"])));

        server.MapPost("/large-post", (context, _) => ValueTask.FromResult(Echo(context.Request)))
            .WithTitle("Plugtest: POST a large body, get it back block-wise");
    }

    private CoapMessage GetUpdate()
    {
        DiagnosticResources.StoredBody body;
        lock (_lock)
        {
            body = _update;
        }

        return Content(CoapCode.Content, body);
    }

    private CoapMessage PutUpdate(CoapMessage request)
    {
        lock (_lock)
        {
            // RFC 7252 §5.10.8, §5.10.9: the resource always exists and has no ETag.
            if (CoapPreconditions.Evaluate(request, resourceExists: true) is { } failed)
            {
                return failed;
            }

            _update = new DiagnosticResources.StoredBody(request.Payload.ToArray(), request.ContentFormat);
        }

        return new CoapMessage { Code = CoapCode.Changed };
    }

    private CoapMessage Create(CoapMessage request)
    {
        long id;
        lock (_lock)
        {
            id = _nextId++;
            _created[id] = new DiagnosticResources.StoredBody(request.Payload.ToArray(), request.ContentFormat);
            _createdOrder.Enqueue(id);
            while (_createdOrder.Count > MaxCreated)
            {
                _created.Remove(_createdOrder.Dequeue());
            }
        }

        // RFC 7252 §5.8.2: the new resource's location, one Location-Path option per segment.
        return new CoapMessage { Code = CoapCode.Created }
            .WithOption(CoapOption.FromString(CoapOptionNumber.LocationPath, "large-create"))
            .WithOption(CoapOption.FromString(CoapOptionNumber.LocationPath, id.ToString(CultureInfo.InvariantCulture)));
    }

    private CoapMessage GetCreated(string id)
    {
        DiagnosticResources.StoredBody? body = null;
        if (long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out long number))
        {
            lock (_lock)
            {
                body = _created.GetValueOrDefault(number);
            }
        }

        return body is null ? new CoapMessage { Code = CoapCode.NotFound } : Content(CoapCode.Content, body);
    }

    private static CoapMessage Echo(CoapMessage request)
        => Content(CoapCode.Changed, new DiagnosticResources.StoredBody(request.Payload.ToArray(), request.ContentFormat));

    private static CoapMessage Content(CoapCode code, DiagnosticResources.StoredBody body)
    {
        var response = new CoapMessage { Code = code, Payload = body.Payload };
        return body.ContentFormat is { } ct ? response.WithContentFormat(ct) : response;
    }

    private static byte[] CreateInitialBody()
    {
        var text = new StringBuilder(2048);
        for (int line = 0; line < 2048 / 32; line++)
        {
            text.Append(CultureInfo.InvariantCulture, $"large-update {line:D4} initial body.\n");
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }
}
