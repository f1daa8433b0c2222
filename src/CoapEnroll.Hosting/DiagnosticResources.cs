using System.Globalization;
using System.Text;
using CoapEnroll.Coap;
using CoapEnroll.Transport;

namespace CoapEnroll.Hosting;

/// <summary>
/// Resources for operators and interop tests, mapped by <c>serve</c> unless
/// <c>Coap:DiagnosticResources=false</c>:
/// <list type="bullet">
/// <item><c>/test</c>: an in-memory resource. GET returns what was last PUT (with its Content-Format),
/// PUT stores a body (honouring If-Match and If-None-Match: 4.12 when they fail), POST echoes the body back (and remembers it as <see cref="LastPost"/>),
/// DELETE removes it.</item>
/// <item><c>/large</c>: GET returns <see cref="LargeBody"/>, 4096 bytes of numbered text lines, for
/// block-wise transfers.</item>
/// <item><c>/obs</c>: GET returns the current UTC time to the second; it is observable (RFC 7641) and
/// notifies its observers every second.</item>
/// <item><c>/whoami</c>: GET describes how the requester reached the server: plain coap, or coaps (with the suite and whether
/// the extended master secret was negotiated) with an anonymous client, a client certificate (its subject, issuer and whether
/// it validated) or a PSK identity.
/// Operators use it to check a device's credentials; the interop tests to check the server's view.</item>
/// </list>
/// </summary>
public sealed class DiagnosticResources : IDisposable
{
    /// <summary>The size of <see cref="LargeBody"/>.</summary>
    public const int LargeBodySize = 4096;

    private const string InitialTestText = "CoapEnroll diagnostic resource: PUT stores a body here, GET returns it, POST echoes it, DELETE removes it.\n";

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private StoredBody? _test;

    // GET /test's answer, built when the body changes: a message is immutable, so every GET can send the same one.
    private CoapMessage _testResponse;
    private StoredBody? _lastPost;
    private ITimer? _clockTimer;

    public DiagnosticResources(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _test = new StoredBody(Encoding.UTF8.GetBytes(InitialTestText), CoapContentFormat.TextPlain);
        _testResponse = BuildGetResponse(_test);
    }

    /// <summary>
    /// 64 lines of 64 bytes: a 4-digit line number, a space, 58 characters of a pattern that shifts
    /// by one per line, and a newline. Every block of every block size is distinct, so misplaced
    /// blocks show.
    /// </summary>
    public static ReadOnlyMemory<byte> LargeBody { get; } = CreateLargeBody();

    /// <summary>What <c>/test</c> holds now; null after DELETE.</summary>
    public StoredBody? TestBody
    {
        get
        {
            lock (_lock)
            {
                return _test;
            }
        }
    }

    /// <summary>The body of the last POST to <c>/test</c>, as the handler received it (reassembled, once block-wise lands).</summary>
    public StoredBody? LastPost
    {
        get
        {
            lock (_lock)
            {
                return _lastPost;
            }
        }
    }

    public void Map(CoapServer server) => Map(server, clock: true);

    /// <summary>Maps the resources; without <paramref name="clock"/> <c>/obs</c> is left out (the plugtest's writable <c>/obs</c> takes its place).</summary>
    public void Map(CoapServer server, bool clock)
    {
        ArgumentNullException.ThrowIfNull(server);
        server.MapGet("/test", (_, _) => ValueTask.FromResult(GetTest()))
            .WithTitle("Diagnostic test resource: GET, PUT, POST (echo), DELETE")
            .WithContentFormat(CoapContentFormat.TextPlain);
        server.MapPut("/test", (ctx, _) => ValueTask.FromResult(PutTest(ctx.Request)));
        server.MapPost("/test", (ctx, _) => ValueTask.FromResult(PostTest(ctx.Request)));
        server.MapDelete("/test", (_, _) => ValueTask.FromResult(DeleteTest()));

        server.MapGet("/large", (_, _) => ValueTask.FromResult(
                new CoapMessage { Code = CoapCode.Content }.WithContentFormat(CoapContentFormat.TextPlain).WithPayload(LargeBody)))
            .WithTitle("Diagnostic resource: 4096 bytes for block-wise transfers")
            .WithContentFormat(CoapContentFormat.TextPlain)
            .WithMaximumSize(LargeBodySize);

        server.MapGet("/whoami", (ctx, _) => ValueTask.FromResult(
                new CoapMessage { Code = CoapCode.Content }.WithContentFormat(CoapContentFormat.TextPlain).WithPayload(DescribePeer(ctx))))
            .WithTitle("Diagnostic resource: how this client authenticated (anonymous, certificate subject, PSK identity)")
            .WithContentFormat(CoapContentFormat.TextPlain);

        if (!clock)
        {
            return;
        }

        var clockResource = server.MapGet("/obs", (_, _) => ValueTask.FromResult(GetClock()))
            .WithTitle("Diagnostic resource: the current UTC time, changing every second")
            .WithContentFormat(CoapContentFormat.TextPlain)
            .Observable();
        var second = TimeSpan.FromSeconds(1);
        _clockTimer = _time.CreateTimer(_ => clockResource.NotifyObservers(), null, second, second);
    }

    /// <summary>Stops the <c>/obs</c> clock; call before the server is disposed.</summary>
    public void Dispose()
    {
        _clockTimer?.Dispose();
        _clockTimer = null;
    }

    private CoapMessage GetTest()
    {
        lock (_lock)
        {
            return _testResponse;
        }
    }

    private static CoapMessage BuildGetResponse(StoredBody? body)
    {
        if (body is null)
        {
            return new CoapMessage { Code = CoapCode.NotFound };
        }

        var response = new CoapMessage { Code = CoapCode.Content, Payload = body.Payload };
        return body.ContentFormat is { } ct ? response.WithContentFormat(ct) : response;
    }

    /// <summary>Replaces what <c>/test</c> holds, and its GET answer with it. Called under <see cref="_lock"/>.</summary>
    private void SetTest(StoredBody? body)
    {
        _test = body;
        _testResponse = BuildGetResponse(body);
    }

    private CoapMessage PutTest(CoapMessage request)
    {
        bool created;
        lock (_lock)
        {
            created = _test is null;

            // RFC 7252 §5.10.8, §5.10.9, checked under the lock that the PUT changes the body under. The
            // resource has no ETag, so only an empty If-Match (exists) or If-None-Match (does not) can hold.
            if (CoapPreconditions.Evaluate(request, resourceExists: !created) is { } failed)
            {
                return failed;
            }

            SetTest(new StoredBody(request.Payload.ToArray(), request.ContentFormat));
        }

        return new CoapMessage { Code = created ? CoapCode.Created : CoapCode.Changed };
    }

    private CoapMessage PostTest(CoapMessage request)
    {
        var body = new StoredBody(request.Payload.ToArray(), request.ContentFormat);
        lock (_lock)
        {
            _lastPost = body;
        }

        var response = new CoapMessage { Code = CoapCode.Changed, Payload = body.Payload };
        return body.ContentFormat is { } ct ? response.WithContentFormat(ct) : response;
    }

    private CoapMessage DeleteTest()
    {
        lock (_lock)
        {
            SetTest(null);
        }

        return new CoapMessage { Code = CoapCode.Deleted };
    }

    private CoapMessage GetClock()
    {
        string now = _time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        return new CoapMessage { Code = CoapCode.Content }
            .WithContentFormat(CoapContentFormat.TextPlain)
            .SetUInt(CoapOptionNumber.MaxAge, 1)
            .WithPayload(now);
    }

    /// <summary>
    /// "key: value" lines: <c>transport</c>, <c>peer</c>, and for coaps <c>cipher-suite</c>, <c>extended-master-secret</c>
    /// (yes, or no for a legacy client admitted by Dtls:ExtendedMasterSecret=Optional, RFC 7627), <c>authentication</c>
    /// (anonymous, certificate, unvalidated-certificate or psk), <c>subject</c>/<c>issuer</c> or <c>psk-identity</c>.
    /// </summary>
    public static string DescribePeer(CoapRequestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var text = new StringBuilder();
        if (context.SecureSession is not { } session)
        {
            text.Append("transport: coap (no security)\n").Append("peer: ").Append(context.RemoteEndPoint).Append('\n');
            return text.ToString();
        }

        text.Append("transport: coaps (DTLS 1.2)\n")
            .Append("peer: ").Append(session.RemoteEndPoint).Append('\n')
            .Append("cipher-suite: ").Append(session.CipherSuiteName).Append('\n')
            .Append("extended-master-secret: ").Append(session.IsExtendedMasterSecretNegotiated ? "yes" : "no").Append('\n');
        if (session.PskIdentity is { } identity)
        {
            text.Append("authentication: psk\n").Append("psk-identity: ").Append(Encoding.UTF8.GetString(identity)).Append('\n');
        }
        else if (session.PeerCertificates is { Count: > 0 } chain)
        {
            text.Append("authentication: ").Append(session.IsPeerCertificateValidated ? "certificate" : "unvalidated-certificate").Append('\n')
                .Append("subject: ").Append(chain[0].Subject).Append('\n')
                .Append("issuer: ").Append(chain[0].Issuer).Append('\n');
        }
        else
        {
            text.Append("authentication: anonymous\n");
        }

        return text.ToString();
    }

    private static byte[] CreateLargeBody()
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        var text = new StringBuilder(LargeBodySize);
        for (int line = 0; line < LargeBodySize / 64; line++)
        {
            text.Append(line.ToString("D4", CultureInfo.InvariantCulture)).Append(' ');
            for (int i = 0; i < 58; i++)
            {
                text.Append(alphabet[(line + i) % alphabet.Length]);
            }

            text.Append('\n');
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }

    /// <summary>A stored request body and the Content-Format it came with.</summary>
    public sealed record StoredBody(ReadOnlyMemory<byte> Payload, int? ContentFormat);
}
