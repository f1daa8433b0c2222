using System.Security.Cryptography;
using System.Text;
using CoapEnroll.Coap;

namespace CoapEnroll.Hosting;

/// <summary>
/// The resources the ETSI/F-Interop CoAP plugtest core test descriptions (TD_COAP_CORE) address, mapped by <c>serve</c> only
/// with <c>Coap:PlugtestResources=true</c> (off by default: they are writable test resources, for conformance runs, not for a
/// deployed server). They build on <see cref="DiagnosticResources"/>' <c>/test</c>, so they need <c>Coap:DiagnosticResources</c>.
/// <list type="bullet">
/// <item><c>/test</c> POST (replacing the diagnostic echo): creates the resource <c>/location1/location2/location3</c> from the
/// body and answers 2.01 Created with three Location-Path options (TD_COAP_CORE_18).</item>
/// <item><c>/separate</c> GET: answered only after the endpoint's separate-response delay has passed, so a CON request is
/// acknowledged at once and answered in a separate CON response, a NON one in a later NON (TD_COAP_CORE_09, 11, 16, 17).</item>
/// <item><c>/seg1/seg2/seg3</c> GET (TD_COAP_CORE_13) and <c>/query</c> GET, which lists the Uri-Query options it received
/// (TD_COAP_CORE_14).</item>
/// <item><c>/location-query</c> POST: stores the body and answers 2.01 with Location-Query <c>first=1</c> and <c>second=2</c>;
/// a GET with that query returns it (TD_COAP_CORE_19).</item>
/// <item><c>/multi-format</c> GET: text/plain (0) or application/xml (41) as the Accept option asks, text without one,
/// 4.06 for any other (TD_COAP_CORE_20).</item>
/// <item><c>/validate</c> GET and PUT: an ETag derived from the representation; a GET naming the current ETag gets 2.03 Valid,
/// a PUT honours If-Match and If-None-Match against it (TD_COAP_CORE_21, 22).</item>
/// <item><c>/create1</c> GET, PUT, DELETE: does not exist until PUT; PUT with If-None-Match creates it once (2.01) and is
/// 4.12 while it exists (TD_COAP_CORE_23); DELETE removes it again.</item>
/// </list>
/// </summary>
public sealed class PlugtestResources
{
    /// <summary>The Location-Path of the resource a POST to <c>/test</c> creates.</summary>
    public static readonly IReadOnlyList<string> CreatedLocationPath = ["location1", "location2", "location3"];

    /// <summary>The Location-Query options of the resource a POST to <c>/location-query</c> creates.</summary>
    public static readonly IReadOnlyList<string> CreatedLocationQuery = ["first=1", "second=2"];

    /// <summary>How much longer than the endpoint's separate-response delay <c>/separate</c> takes.</summary>
    public static readonly TimeSpan SeparateMargin = TimeSpan.FromSeconds(1);

    private const int EtagLength = 8;

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private DiagnosticResources.StoredBody? _createdAtLocationPath;
    private DiagnosticResources.StoredBody? _createdAtLocationQuery;
    private DiagnosticResources.StoredBody _validate = new(Encoding.UTF8.GetBytes("Plugtest /validate resource: PUT changes it, and its ETag with it.\n"), CoapContentFormat.TextPlain);
    private DiagnosticResources.StoredBody? _create1;

    public PlugtestResources(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    public void Map(CoapServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        server.MapPost("/test", (ctx, _) => ValueTask.FromResult(CreateAtLocationPath(ctx.Request)))
            .WithTitle("Diagnostic test resource: GET, PUT, DELETE; POST creates /location1/location2/location3 (plugtest)");
        server.MapGet("/location1/location2/location3", (_, _) => ValueTask.FromResult(Represent(Read(ref _createdAtLocationPath))))
            .WithTitle("Plugtest: what the last POST to /test created");

        server.MapGet("/separate", GetSeparateAsync)
            .WithTitle("Plugtest: answered after the separate-response delay (not piggybacked)")
            .WithContentFormat(CoapContentFormat.TextPlain);

        server.MapGet("/seg1/seg2/seg3", (_, _) => ValueTask.FromResult(Text("Plugtest /seg1/seg2/seg3: reached through three Uri-Path options.\n")))
            .WithTitle("Plugtest: a path of three segments")
            .WithContentFormat(CoapContentFormat.TextPlain);

        server.MapGet("/query", (ctx, _) => ValueTask.FromResult(DescribeQuery(ctx.Request)))
            .WithTitle("Plugtest: lists the Uri-Query options of the request")
            .WithContentFormat(CoapContentFormat.TextPlain);

        server.MapPost("/location-query", (ctx, _) => ValueTask.FromResult(CreateAtLocationQuery(ctx.Request)))
            .WithTitle("Plugtest: POST creates a resource located by the query ?first=1&second=2")
            .WithContentFormat(CoapContentFormat.TextPlain);
        server.MapGet("/location-query", (ctx, _) => ValueTask.FromResult(GetAtLocationQuery(ctx.Request)));

        server.MapGet("/multi-format", (ctx, _) => ValueTask.FromResult(GetMultiFormat(ctx.Request)))
            .WithTitle("Plugtest: text/plain or application/xml, as the Accept option asks")
            .WithContentFormat(CoapContentFormat.TextPlain, CoapContentFormat.Xml);

        server.MapGet("/validate", (ctx, _) => ValueTask.FromResult(GetValidate(ctx.Request)))
            .WithTitle("Plugtest: ETag validation (2.03) and If-Match updates")
            .WithContentFormat(CoapContentFormat.TextPlain);
        server.MapPut("/validate", (ctx, _) => ValueTask.FromResult(PutValidate(ctx.Request)));

        server.MapGet("/create1", (_, _) => ValueTask.FromResult(Represent(Read(ref _create1))))
            .WithTitle("Plugtest: absent until created by PUT (If-None-Match creates it once)");
        server.MapPut("/create1", (ctx, _) => ValueTask.FromResult(PutCreate1(ctx.Request)));
        server.MapDelete("/create1", (_, _) => ValueTask.FromResult(DeleteCreate1()));
    }

    /// <summary>The ETag of a representation: the first 8 bytes of SHA-256 over its Content-Format and body (RFC 7252 §5.10.6).</summary>
    public static byte[] ComputeETag(DiagnosticResources.StoredBody body)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> format = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(format, body.ContentFormat ?? -1);
        hash.AppendData(format);
        hash.AppendData(body.Payload.Span);
        return hash.GetHashAndReset()[..EtagLength];
    }

    private async ValueTask<CoapMessage> GetSeparateAsync(CoapRequestContext context, CancellationToken cancellationToken)
    {
        // Longer than the endpoint waits before it acknowledges a CON on its own (§5.2.2), whatever Coap:Endpoint configures.
        TimeSpan delay = context.Endpoint.Options.SeparateResponseDelay + SeparateMargin;
        await Task.Delay(delay, _time, cancellationToken);
        return Text($"Plugtest /separate: answered after {delay.TotalSeconds:0.#} s, in a response of its own.\n");
    }

    private CoapMessage CreateAtLocationPath(CoapMessage request)
    {
        lock (_lock)
        {
            _createdAtLocationPath = new DiagnosticResources.StoredBody(request.Payload.ToArray(), request.ContentFormat);
        }

        var response = new CoapMessage { Code = CoapCode.Created };
        foreach (string segment in CreatedLocationPath)
        {
            response = response.WithOption(CoapOption.FromString(CoapOptionNumber.LocationPath, segment));
        }

        return response;
    }

    private CoapMessage CreateAtLocationQuery(CoapMessage request)
    {
        lock (_lock)
        {
            _createdAtLocationQuery = new DiagnosticResources.StoredBody(request.Payload.ToArray(), request.ContentFormat);
        }

        var response = new CoapMessage { Code = CoapCode.Created };
        foreach (string query in CreatedLocationQuery)
        {
            response = response.WithOption(CoapOption.FromString(CoapOptionNumber.LocationQuery, query));
        }

        return response;
    }

    private CoapMessage GetAtLocationQuery(CoapMessage request)
    {
        // Only the location the POST answered names the created resource; any other query names nothing.
        return request.UriQuery.SequenceEqual(CreatedLocationQuery, StringComparer.Ordinal)
            ? Represent(Read(ref _createdAtLocationQuery))
            : new CoapMessage { Code = CoapCode.NotFound }.WithPayload("GET /location-query?first=1&second=2 after a POST to /location-query");
    }

    private static CoapMessage DescribeQuery(CoapMessage request)
    {
        IReadOnlyList<string> query = request.UriQuery;
        var text = new StringBuilder("Plugtest /query: ");
        if (query.Count == 0)
        {
            text.Append("no Uri-Query options.\n");
        }
        else
        {
            text.Append(query.Count).Append(" Uri-Query option(s):");
            foreach (string parameter in query)
            {
                text.Append(' ').Append(parameter);
            }

            text.Append('\n');
        }

        return Text(text.ToString());
    }

    private static CoapMessage GetMultiFormat(CoapMessage request) => request.Accept switch
    {
        null or CoapContentFormat.TextPlain => Text("Plugtest /multi-format: this representation is text/plain.\n"),
        CoapContentFormat.Xml => new CoapMessage { Code = CoapCode.Content }
            .WithContentFormat(CoapContentFormat.Xml)
            .WithPayload("<multi-format>this representation is application/xml</multi-format>"),

        // RFC 7252 §5.10.4: no representation in the requested format.
        { } other => new CoapMessage { Code = CoapCode.NotAcceptable }
            .WithPayload($"/multi-format is text/plain (0) or application/xml (41), not {other}"),
    };

    private CoapMessage GetValidate(CoapMessage request)
    {
        DiagnosticResources.StoredBody body;
        lock (_lock)
        {
            body = _validate;
        }

        byte[] etag = ComputeETag(body);

        // RFC 7252 §5.10.6.2: a request may name several ETags; when the current one is among them, 2.03 Valid with it and no body.
        foreach (var option in request.Options.GetAll(CoapOptionNumber.ETag))
        {
            if (option.Value.Span.SequenceEqual(etag))
            {
                return new CoapMessage { Code = CoapCode.Valid }.WithOption(new CoapOption(CoapOptionNumber.ETag, etag));
            }
        }

        return Represent(body).WithOption(new CoapOption(CoapOptionNumber.ETag, etag));
    }

    private CoapMessage PutValidate(CoapMessage request)
    {
        lock (_lock)
        {
            // Checked under the lock the update happens under, so that of two PUTs with the same If-Match only one succeeds.
            if (CoapPreconditions.Evaluate(request, resourceExists: true, ComputeETag(_validate)) is { } failed)
            {
                return failed;
            }

            _validate = new DiagnosticResources.StoredBody(request.Payload.ToArray(), request.ContentFormat);
        }

        return new CoapMessage { Code = CoapCode.Changed };
    }

    private CoapMessage PutCreate1(CoapMessage request)
    {
        bool created;
        lock (_lock)
        {
            created = _create1 is null;
            if (CoapPreconditions.Evaluate(request, resourceExists: !created, _create1 is { } current ? ComputeETag(current) : null) is { } failed)
            {
                return failed;
            }

            _create1 = new DiagnosticResources.StoredBody(request.Payload.ToArray(), request.ContentFormat);
        }

        return new CoapMessage { Code = created ? CoapCode.Created : CoapCode.Changed };
    }

    private CoapMessage DeleteCreate1()
    {
        lock (_lock)
        {
            _create1 = null;
        }

        return new CoapMessage { Code = CoapCode.Deleted };
    }

    private DiagnosticResources.StoredBody? Read(ref DiagnosticResources.StoredBody? field)
    {
        lock (_lock)
        {
            return field;
        }
    }

    private static CoapMessage Represent(DiagnosticResources.StoredBody? body)
    {
        if (body is null)
        {
            return new CoapMessage { Code = CoapCode.NotFound };
        }

        var response = new CoapMessage { Code = CoapCode.Content, Payload = body.Payload };
        return body.ContentFormat is { } ct ? response.WithContentFormat(ct) : response;
    }

    private static CoapMessage Text(string text) =>
        new CoapMessage { Code = CoapCode.Content }.WithContentFormat(CoapContentFormat.TextPlain).WithPayload(text);
}
