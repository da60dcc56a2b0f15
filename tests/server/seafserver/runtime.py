"""Everything one server process runs: state, storage, listeners (main port, optional bare
file-server port, control port), faults and the recorder; start/stop and unreachable mode."""
import os
import threading

from .app import FileServerApp, MainApp
from .catalog import Catalog
from .control import ControlServer
from .faults import Faults
from .fileserver import FileServer
from .httpserver import Listener
from .observe import Recorder
from .seahub import Seahub
from .state import State
from .storage import Storage


class ServerRuntime:
    def __init__(self, data_dir, storage_dir=None, host="127.0.0.1", port=0, control_port=0,
                 fileserver_port=None, log_path=None, readonly_storage=False, base_storage=None):
        os.makedirs(data_dir, exist_ok=True)
        self.state = State(data_dir)
        self.storage = Storage(storage_dir or os.path.join(data_dir, "storage"), not readonly_storage,
                               base_storage)
        self.catalog = Catalog(self.state, self.storage)
        self.faults = Faults()
        self.recorder = Recorder(log_path)
        fileserver = FileServer(self.state, self.storage, self.catalog)
        seahub = Seahub(self.state, self.catalog)
        self.listeners = [Listener(host, port, MainApp(seahub, fileserver), self.faults, self.recorder)]
        if fileserver_port is not None:
            self.listeners.append(Listener(host, fileserver_port, FileServerApp(fileserver),
                                           self.faults, self.recorder))
        self.control = ControlServer(host, control_port, self)
        self._lock = threading.Lock()
        self.stopped = threading.Event()

    @property
    def ports(self):
        ports = {"port": self.listeners[0].port, "control_port": self.control.port}
        if len(self.listeners) > 1:
            ports["fileserver_port"] = self.listeners[1].port
        return ports

    def start(self):
        for listener in self.listeners:
            listener.start()
        self.control.start()

    @property
    def reachable(self):
        return self.listeners[0].running

    def set_reachable(self, reachable):
        """Unreachable: close the listening sockets and drop connections; reachable: listen
        again on the same ports. State and storage are untouched."""
        with self._lock:
            for listener in self.listeners:
                if reachable:
                    listener.start()
                else:
                    listener.stop()

    def stop(self):
        self.faults.release_all()
        with self._lock:
            for listener in self.listeners:
                listener.stop()
        self.control.stop()
        self.state.save()
        self.stopped.set()
