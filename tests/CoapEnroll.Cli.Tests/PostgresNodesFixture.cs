using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Testing;

namespace CoapEnroll.Cli.Tests;

/// <summary>The shared PostgreSQL cluster (<see cref="PostgresFixture"/>) and, on demand, <c>serve</c> nodes on one of its databases.</summary>
public sealed class PostgresNodesFixture : PostgresFixture
{
    private readonly SemaphoreSlim _nodesGate = new(1, 1);
    private ServeNodes? _nodes;

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

    protected override async Task StopClusterUsersAsync()
    {
        if (_nodes is not null)
        {
            await _nodes.DisposeAsync();
        }

        _nodesGate.Dispose();
    }
}
