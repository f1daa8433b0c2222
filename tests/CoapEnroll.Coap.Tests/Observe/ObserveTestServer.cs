using System.Net;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap.Tests.Observe;

/// <summary>A server on loopback with short timers, an observable <c>/state</c> resource and a counter state.</summary>
internal sealed class ObserveTestServer : IAsyncDisposable
{
    private int _state;

    public ObserveTestServer(Action<CoapServerOptions>? configure = null, Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory = null)
    {
        var options = new CoapServerOptions
        {
            Endpoint = { AckTimeout = TimeSpan.FromMilliseconds(100), MaxRetransmit = 2, ResponseTimeout = TimeSpan.FromSeconds(3) },
            Observe = { MinNonConfirmableInterval = TimeSpan.Zero },
        };
        configure?.Invoke(options);
        Server = new CoapServer(options, loggerFactory);
        Resource = Server.MapGet("/state", (ctx, _) =>
        {
            lock (Requests)
            {
                Requests.Add(ctx.Request);
            }

            return ValueTask.FromResult(Failing
                ? new CoapMessage { Code = CoapCode.NotFound }
                : new CoapMessage { Code = CoapCode.Content }.WithPayload(State.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }).Observable();
        var endpoint = Server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        Address = (IPEndPoint)endpoint.LocalEndPoint;
    }

    public CoapServer Server { get; }

    public CoapResource Resource { get; }

    public IPEndPoint Address { get; }

    /// <summary>Every request the handler saw (registrations, notifications' re-runs, deregistrations).</summary>
    public List<CoapMessage> Requests { get; } = [];

    public int State
    {
        get => Volatile.Read(ref _state);
        set => Volatile.Write(ref _state, value);
    }

    /// <summary>When set, the resource answers 4.04 (as if deleted).</summary>
    public bool Failing { get; set; }

    public static CoapMessage Register(byte[] token, int observe = 0) => Request("/state", token, observe);

    /// <summary>A GET of <paramref name="path"/> with <paramref name="token"/> and the Observe option.</summary>
    public static CoapMessage Request(string path, byte[] token, int observe = 0)
        => (CoapMessage.CreateRequest(CoapCode.Get, path) with { Token = token }).SetUInt(CoapOptionNumber.Observe, (uint)observe);

    public CoapClient CreateClient() => new(UdpDatagramChannel.BindEphemeralFor(Address), new CoapClientOptions
    {
        Endpoint = { AckTimeout = TimeSpan.FromMilliseconds(100), MaxRetransmit = 2, ResponseTimeout = TimeSpan.FromSeconds(3) },
    });

    /// <summary>Polls <paramref name="condition"/> until it holds or the time is up.</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, int milliseconds = 3000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(milliseconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(10);
        }

        return true;
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
