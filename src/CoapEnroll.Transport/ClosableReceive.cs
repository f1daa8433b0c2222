using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace CoapEnroll.Transport;

/// <summary>
/// One reusable receive on a connected socket through <see cref="SocketAsyncEventArgs"/>, which reports a failure as its
/// <see cref="SocketError"/> instead of throwing: a receive aborted because the socket was closed completes with
/// <see cref="SocketError.OperationAborted"/> and no exception, where the Task-based socket calls throw one. One receive at a time.
/// </summary>
internal sealed class ClosableReceive : SocketAsyncEventArgs, IValueTaskSource<(int Received, SocketError Error)>
{
    // The continuation runs where the socket completes the receive (a thread-pool work item, as with the Task-based calls), not
    // after one more hop through the pool.
    private ManualResetValueTaskSourceCore<(int, SocketError)> _core = new() { RunContinuationsAsynchronously = false };

    public ClosableReceive()
        : base(unsafeSuppressExecutionContextFlow: true)
    {
    }

    public ValueTask<(int Received, SocketError Error)> ReceiveAsync(Socket socket, Memory<byte> buffer)
    {
        _core.Reset();
        SetBuffer(buffer);
        bool pending;
        try
        {
            pending = socket.ReceiveAsync(this);
        }
        catch (ObjectDisposedException)
        {
            // Closed between the caller's check and this call.
            SetBuffer(Memory<byte>.Empty);
            return ValueTask.FromResult((0, SocketError.OperationAborted));
        }

        if (!pending)
        {
            Complete();
        }

        return new ValueTask<(int Received, SocketError Error)>(this, _core.Version);
    }

    public (int Received, SocketError Error) GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    protected override void OnCompleted(SocketAsyncEventArgs e) => Complete();

    private void Complete()
    {
        // The caller's buffer is not kept past the receive.
        (int, SocketError) result = (BytesTransferred, SocketError);
        SetBuffer(Memory<byte>.Empty);
        _core.SetResult(result);
    }
}
