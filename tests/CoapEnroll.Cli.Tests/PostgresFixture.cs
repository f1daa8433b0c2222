using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Testing;

namespace CoapEnroll.Cli.Tests;

/// <summary>One throwaway PostgreSQL cluster (<see cref="PostgresCluster"/>) for every test of <see cref="PostgresCollection"/>.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private readonly SemaphoreSlim _nodesGate = new(1, 1);
    private PostgresCluster? _cluster;
    private ServeNodes? _nodes;

    public PostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("the cluster starts with the collection");

    public async Task InitializeAsync() => _cluster = await PostgresCluster.StartAsync(CancellationToken.None);

    /// <summary>
    /// Three <c>serve</c> nodes on one database of the cluster (<see cref="ServeNodes"/>), started by the first test that asks and
    /// stopped with the cluster: the tests of several nodes share them, each looking only at what it made.
    /// </summary>
    public async Task<ServeNodes> NodesAsync()
    {
        await _nodesGate.WaitAsync();
        try
        {
            return _nodes ??= await ServeNodes.StartAsync(await Cluster.CreateDatabaseAsync(CancellationToken.None), 3);
        }
        finally
        {
            _nodesGate.Release();
        }
    }

    public async Task DisposeAsync()
    {
        if (_nodes is not null)
        {
            await _nodes.DisposeAsync();
        }

        _nodesGate.Dispose();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
