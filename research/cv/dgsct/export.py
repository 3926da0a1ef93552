# Copyright 2026 The MindSpore Model Zoo Contributors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
# http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ============================================================================
"""Export the whole DG-SCT model (backbones + prompt modules + head) to MindIR for inference.

python export.py --config_path=configs/ave.yaml --ckpt_file=CKPT --file_name=dgsct_ave --file_format=MINDIR
                 [--export.batch_size=1]
(the zoo's export command; without --ckpt_file it loads <ckpt_path>/best.ckpt, else <ckpt_path>/last.ckpt)
Inputs of the MindIR: frames [B, T, 3, S, S], waves [B, T, clip_samples] with B = export.batch_size, fixed in the
graph (MindSpore 2.10 on CPU cannot load this network's MindIR back with a dynamic batch); outputs as the network
(AVE: is_event, event, av, gate). The resolved config is written to <file_name>.yaml beside it; infer.py runs the
MindIR on a data set with it.
"""
import argparse
import sys

import mindspore as ms

from src.checkpoint import checkpoint_to_load
from src.config import load_config, save_config
from src.config_help import config_help
from src.dgsct.model import build_network, load_network_checkpoint


def main(argv=None):
    parser = argparse.ArgumentParser(description="DG-SCT MindIR export", allow_abbrev=False, epilog=config_help(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_path", required=True)
    args, overrides = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    cfg = load_config(args.config_path, overrides)
    ckpt_file = checkpoint_to_load(cfg)                    # a missing checkpoint fails before the network is built
    ms.set_device(cfg.device_target)
    ms.set_context(mode=ms.GRAPH_MODE)
    net, task = build_network(cfg)
    load_network_checkpoint(net, ckpt_file)
    net.set_train(False)
    inputs = task.example_inputs(cfg.export.batch_size)
    ms.export(net, *inputs, file_name=cfg.file_name, file_format=cfg.file_format)
    save_config(cfg, cfg.file_name + ".yaml")
    print(f"exported {cfg.file_name}.mindir")


if __name__ == "__main__":
    main()
