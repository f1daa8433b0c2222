using System.Net;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap;

/// <summary>One request as the server side sees it.</summary>
public sealed class CoapRequestContext
{
    private Dictionary<object, object?>? _items;
    private Dictionary<string, string>? _routeValues;

    /// <summary>A request received on the current thread (the endpoint makes its contexts on the thread that received the datagram).</summary>
    public CoapRequestContext(CoapMessage request, EndPoint remoteEndPoint, CoapEndpoint endpoint)
    {
        Request = request;
        RemoteEndPoint = remoteEndPoint;
        Endpoint = endpoint;
        ReceivingThreadId = Environment.CurrentManagedThreadId;
    }

    /// <summary>The managed thread that received the request, which <see cref="ContinueOnThreadPoolAsync"/> leaves.</summary>
    internal int ReceivingThreadId { get; private init; }

    /// <summary>The request as received (or, below the block-wise layer, as reassembled).</summary>
    public CoapMessage Request { get; init; }

    /// <summary>
    /// The peer: an <see cref="IPEndPoint"/> over UDP, or the secure transport's own endpoint type,
    /// which identifies the security association.
    /// </summary>
    public EndPoint RemoteEndPoint { get; }

    /// <summary>
    /// The secure session the request arrived over (who the peer authenticated as, channel binding), or null over a
    /// channel without security (plain UDP). Read the peer's identity here, not by casting <see cref="RemoteEndPoint"/>.
    /// </summary>
    public ISecureSession? SecureSession => RemoteEndPoint as ISecureSession;

    /// <summary>The endpoint the request arrived on.</summary>
    public CoapEndpoint Endpoint { get; }

    /// <summary>Route values captured by the router (for example <c>{label}</c>).</summary>
    public IDictionary<string, string> RouteValues => _routeValues ??= new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The resource the router matched, once it has (layers outside the router read it afterwards).</summary>
    public CoapResource? Resource { get; internal set; }

    /// <summary>State that layers pass to the layers below them.</summary>
    public IDictionary<object, object?> Items => _items ??= new Dictionary<object, object?>();

    /// <summary>True once <see cref="ContinueOnThreadPoolAsync"/> moved the request off the thread that received it.</summary>
    public bool IsOnThreadPool { get; private set; }

    /// <summary>
    /// Continues the request on the thread pool, unless it moved there already. The endpoint runs a request on the thread that
    /// received it up to the handler's first real wait, and a server channel may receive on a thread of its own that serves every
    /// peer of its socket; a handler calls this before synchronous slow work (store I/O, signing, certificate path building) so
    /// that the thread goes back to the socket. <see cref="CoapResource.RunOnThreadPool"/> does it for a whole resource.
    /// </summary>
    public ThreadPoolHop ContinueOnThreadPoolAsync()
    {
        if (StaysOnThreadPool)
        {
            return new ThreadPoolHop(stay: true);
        }

        IsOnThreadPool = true;
        return new ThreadPoolHop(stay: false);
    }

    /// <summary>
    /// True when the request moved to the pool and this thread is a pool thread other than the one that received it. All three,
    /// because a task whose work hopped to the pool and finished there before its caller on the receiving thread looked at it lets
    /// that caller go on synchronously: the flag alone would then keep the rest of the request on the receiving thread, and a
    /// receive loop may itself run on a pool thread (asynchronous socket receives).
    /// </summary>
    internal bool StaysOnThreadPool =>
        IsOnThreadPool && Thread.CurrentThread.IsThreadPoolThread && Environment.CurrentManagedThreadId != ReceivingThreadId;

    /// <summary>A copy for a different (for example reassembled) request, sharing the peer.</summary>
    public CoapRequestContext WithRequest(CoapMessage request)
    {
        var copy = new CoapRequestContext(request, RemoteEndPoint, Endpoint) { Resource = Resource, IsOnThreadPool = IsOnThreadPool, ReceivingThreadId = ReceivingThreadId };
        if (_routeValues is not null)
        {
            foreach (var value in _routeValues)
            {
                copy.RouteValues[value.Key] = value.Value;
            }
        }

        if (_items is not null)
        {
            foreach (var item in _items)
            {
                copy.Items[item.Key] = item.Value;
            }
        }

        return copy;
    }
}
