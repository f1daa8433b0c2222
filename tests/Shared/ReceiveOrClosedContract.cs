using CoapEnroll.Transport;

namespace CoapEnroll.Testing;

/// <summary>
/// What every channel's own <see cref="IDatagramChannel.ReceiveOrClosedAsync"/> must keep of the interface's default, checked the same
/// way for each (linked into the test projects of the channels that implement it): the caller's cancellation still throws, a
/// close ends a pending receive and every later one as <see cref="DatagramReceiveResult.Closed"/> without an exception thrown on
/// the way, and <see cref="IDatagramChannel.ReceiveAsync"/> still throws <see cref="ObjectDisposedException"/> after it.
/// </summary>
internal static class ReceiveOrClosedContract
{
    /// <summary>Checks the contract on an open <paramref name="channel"/> with nothing in flight; disposes it on the way.</summary>
    public static async Task CancelThenCloseAsync(IDatagramChannel channel, TimeSpan patience)
    {
        byte[] buffer = new byte[2048];

        // The caller's cancellation still throws, and the channel goes on receiving.
        using (var cancel = new CancellationTokenSource())
        {
            Task<DatagramReceiveResult> cancelled = channel.ReceiveOrClosedAsync(buffer, cancel.Token).AsTask();
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await cancelled);
        }

        using var recorder = new FirstChanceExceptionRecorder();
        recorder.Start();
        ValueTask<DatagramReceiveResult> pending = channel.ReceiveOrClosedAsync(buffer, CancellationToken.None);
        Assert.False(pending.IsCompleted);
        await channel.DisposeAsync().AsTask().WaitAsync(patience);

        Assert.True((await pending.AsTask().WaitAsync(patience)).IsClosed);
        Assert.True((await channel.ReceiveOrClosedAsync(buffer, CancellationToken.None)).IsClosed);
        recorder.Stop();
        Assert.True(recorder.Exceptions.Count == 0, $"{recorder.Exceptions.Count} exception(s) on close:\n{recorder.Describe()}");
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await channel.ReceiveAsync(buffer, CancellationToken.None));
    }
}
