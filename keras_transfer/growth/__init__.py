"""Function-preserving network growth (Net2Net): widen layers, insert identity layers, grow on plateau.

- ``net2wider(model, layer_name, new_units, noise=0.0)``: more units / filters, same function.
- ``net2deeper(model, after_layer_name)``: an identity-initialised layer inserted, same function.
- ``GrowOnPlateau``: a policy (callback + training loop) widening a layer when validation stalls.
"""

from keras_transfer.growth import mapping
from keras_transfer.growth.grow_on_plateau import GrowOnPlateau
from keras_transfer.growth.net2net import net2deeper, net2wider

__all__ = ["GrowOnPlateau", "net2deeper", "net2wider"]  # mapping: the index arithmetic, a submodule
