using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace CoapEnroll.Ca.Tests;

/// <summary>ca.store.duration: every store call the CA makes is timed, tagged with its operation, and a failed one with its error.</summary>
public sealed class StoreMetricsTests
{
    // Tests run in parallel and the meter is static: only measurements made in this test's own asynchronous flow are kept.
    private static readonly AsyncLocal<bool> s_ours = new();

    [Fact]
    public async Task The_CA_times_every_store_call_with_its_operation_and_a_failed_one_with_its_error_type()
    {
        var seen = new ConcurrentQueue<(string? Operation, string? Error)>();
        using MeterListener listener = Listen(seen);

        await using TestCa ca = await TestCa.CreateAsync();
        Assert.IsType<InstrumentedCertificateStore>(ca.Authority.Store);
        s_ours.Value = true;
        Assert.Equal(0, await ca.Authority.CountPendingRequestsAsync(CancellationToken.None));
        IssuanceResult issued = await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=timed"), requestKey: "timed-1"), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, issued.Status);

        await ca.Store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => ca.Authority.CountPendingRequestsAsync(CancellationToken.None));
        s_ours.Value = false;

        Assert.Contains(("CountPendingRequests", null), seen);
        Assert.Contains(("GetRequestByKey", null), seen);
        Assert.Contains(("AddIssued", null), seen);
        Assert.Contains(("CountPendingRequests", "ObjectDisposedException"), seen);
        Assert.DoesNotContain(seen, m => m.Operation is null);
    }

    [Fact]
    public async Task The_transaction_store_times_every_call_with_its_operation_and_a_failed_one_with_its_error_type()
    {
        var seen = new ConcurrentQueue<(string? Operation, string? Error)>();
        using MeterListener listener = Listen(seen);
        await using TestCa ca = await TestCa.CreateAsync();
        ITransactionStore store = InstrumentedTransactionStore.Wrap(ca.Store);
        Assert.Same(store, InstrumentedTransactionStore.Wrap(store));
        DateTimeOffset now = DateTimeOffset.UtcNow;

        s_ours.Value = true;
        Assert.True(await store.TryAddTransactionAsync(new StoredTransaction { Id = "cmp:timed", Owner = "dev-1", Reference = "r", Data = [1], ExpiresAt = now.AddMinutes(5) }, CancellationToken.None));
        StoredTransaction stored = Assert.IsType<StoredTransaction>(await store.GetTransactionAsync("cmp:timed", CancellationToken.None));
        Assert.NotNull(await store.TryUpdateTransactionAsync(stored with { Data = [2] }, CancellationToken.None));
        Assert.Equal(0, await store.CloseTransactionsAsync("dev-1", "r", "cmp:timed", now.AddMinutes(5), CancellationToken.None));
        Assert.Empty(await store.TakeExpiredTransactionsAsync("cmp:", now, 10, CancellationToken.None));
        await ca.Store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.GetTransactionAsync("cmp:timed", CancellationToken.None));
        s_ours.Value = false;

        (string?, string?)[] expected =
        [
            ("TryAddTransaction", null), ("GetTransaction", null), ("TryUpdateTransaction", null), ("CloseTransactions", null), ("TakeExpiredTransactions", null),
            ("GetTransaction", "ObjectDisposedException"),
        ];
        Assert.Equal(expected, seen.ToArray());
    }

    private static MeterListener Listen(ConcurrentQueue<(string? Operation, string? Error)> seen)
    {
        var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "CoapEnroll.Ca" && instrument.Name == "ca.store.duration")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, seconds, tags, _) =>
        {
            if (!s_ours.Value)
            {
                return;
            }

            Assert.True(seconds >= 0);
            string? operation = null, error = null;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                operation = tag.Key == "operation" ? tag.Value as string : operation;
                error = tag.Key == "error.type" ? tag.Value as string : error;
            }

            seen.Enqueue((operation, error));
        });
        listener.Start();
        return listener;
    }
}
